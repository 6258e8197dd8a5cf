import pino, { type LevelWithSilent } from 'pino';

// Secrets and personal data never reach the logs: headers with keys, emails and tokens are redacted.
// One logger per process, imported where it is used; its level is set by the composition root
// (configureLogger, from LOG_LEVEL) and is pino's default, info, until then.
export const logger = pino({
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

export interface LoggerSettings {
  level: LevelWithSilent;
}

/** Sets the level (the composition root calls this once, before anything logs). */
export function configureLogger(settings: LoggerSettings): void {
  logger.level = settings.level;
}
