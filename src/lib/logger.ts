import pino from 'pino';
import { getConfig } from '../../config';

// Secrets and personal data never reach the logs: headers with keys, emails and tokens are redacted.
export const logger = pino({
  level: getConfig().LOG_LEVEL,
  base: { service: 'verdict' },
  redact: {
    paths: [
      'req.headers.authorization',
      'req.headers.cookie',
      'email',
      '*.email',
      'token',
      '*.token',
    ],
    censor: '[redacted]',
  },
});
export type Logger = typeof logger;
