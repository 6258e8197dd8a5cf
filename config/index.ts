// The one place that reads process.env: parsed once, validated with zod, frozen.
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { isoDurationToMs } from '../src/lib/duration';
import { DEFAULT_OPT_OUT_KEYWORDS, parseOptOutKeywords } from '../src/lib/sms-opt-out';

const booleanFromString = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

/**
 * TRUST_PROXY, as Express's 'trust proxy' setting: which X-Forwarded-For entries to believe when taking a
 * request's client address (rate limits, click classification, share links' protocol). `true` believes
 * one hop, the reverse proxy in front: believing every hop (Express's `true`) would let any client name
 * its own address by sending X-Forwarded-For, and so escape the per-client rate limit.
 */
const TRUST_PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const trustProxy = z
  .string()
  .default('false')
  .transform((raw, ctx): false | number | string[] => {
    const value = raw.trim();
    if (value === '' || value === 'false') return false;
    if (value === 'true') return 1;
    if (/^\d+$/.test(value)) return Number(value) === 0 ? false : Number(value);
    const entries = value.split(',').map((entry) => entry.trim()).filter(Boolean);
    const address = (text: string) => ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
    const wrong = entries.filter((entry) => !TRUST_PROXY_NAMES.has(entry) && !address(entry) && !(ipaddr.isValidCIDR(entry) && address(entry.split('/')[0])));
    if (wrong.length > 0) {
      ctx.addIssue({ code: 'custom', message: `must be true, false, a number of proxy hops, or a comma-separated list of proxy addresses, subnets (CIDR) and loopback, linklocal, uniquelocal; not ${wrong.join(', ')}` });
      return z.NEVER;
    }
    return entries;
  });

const optionalNonEmpty = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    MONGODB_URI: z.preprocess((value) => (value === '' ? undefined : value), z.string().regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://').optional()),
    // At most 54: the counting engine's database is named MONGODB_DB + '_counting' (63 at most).
    MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,54}$/, 'letters, digits, _ and -, 54 at most').default('verdict'),
    DATA_DIR: z.string().min(1).default('./data'),
    FERRETDB_CACHE_DIR: z.string().min(1).default('./.cache/ferretdb'),
    ADMIN_API_KEY: optionalNonEmpty.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    PUBLIC_BASE_URL: z.preprocess((value) => (value === '' ? undefined : value), z.url().optional()),
    TRACKING_SECRET: optionalNonEmpty.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    SMTP_URL: optionalNonEmpty.pipe(z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional()),
    SMTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(100).default(5),
    SMTP_RATE_LIMIT: z.coerce.number().int().min(0).default(0),
    /** SMS over SMPP 3.4: smpp://system_id:password@host:port; unset = SMS go to the outbox under DATA_DIR. */
    SMPP_URL: optionalNonEmpty.pipe(
      z
        .string()
        .refine((value) => {
          try {
            const url = new URL(value);
            return url.protocol === 'smpp:' && url.hostname !== '' && url.username !== '';
          } catch {
            return false;
          }
        }, 'must be smpp://system_id:password@host:port')
        .optional(),
    ),
    /** SMS submitted per second over the SMPP session (0 = no limit). */
    SMS_RATE_LIMIT: z.coerce.number().min(0).max(10_000).default(10),
    /** Opt-out keywords per locale, the first of each named in the message: "en:STOP|UNSUBSCRIBE,fa:لغو,ar:إلغاء". */
    SMS_OPT_OUT_KEYWORDS: z
      .string()
      .default(DEFAULT_OPT_OUT_KEYWORDS)
      .refine((value) => parseOptOutKeywords(value) !== null, 'must be locale:KEYWORD|KEYWORD pairs separated by commas, such as en:STOP|UNSUBSCRIBE,fa:لغو'),
    /** A throttled submit (ESME_RTHROTTLED, ESME_RMSGQFUL) waits this long, doubling, before it is tried again. */
    SMS_THROTTLE_BACKOFF_MS: z.coerce.number().int().min(1).max(60_000).default(500),
    BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i).default('1mb'),
    API_KEY_CACHE_SECONDS: z.coerce.number().min(0).default(10),
    CHANGES_POLL_MS: z.coerce.number().int().min(20).max(10_000).default(250),
    SCHEDULER_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
    WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(10).default(30_000),
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
    /** On-premise: let webhooks reach loopback, private and other non-public addresses (refused by default). */
    ALLOW_PRIVATE_WEBHOOKS: booleanFromString.default(false),
    TRUST_PROXY: trustProxy,
    /** Requests a minute one client (IP address; IPv6 by /56) may make to the public, login-less routes; 0 = no limit. */
    RATE_LIMIT_PUBLIC_PER_MINUTE: z.preprocess((value) => (value === '' ? undefined : value), z.coerce.number().int().min(0).default(600)),
    /** An ingest request that has not sealed its batch after this long is presumed dead; the aggregator takes the batch over. */
    COUNTING_GRACE_MS: z.coerce.number().int().min(100).default(30_000),
    /** Pause of an idle aggregator between looks for new batches (a local write or a waiting read wakes it sooner). */
    AGGREGATOR_IDLE_MS: z.coerce.number().int().min(5).max(10_000).default(100),
    /** Lease of a background duty; a dead holder's duty is taken over within about this long. */
    JOB_LEASE_MS: z.coerce.number().int().min(200).max(300_000).default(20_000),
    LOOK_INTERVAL: z.string().default('PT1H').refine((value) => isoDurationToMs(value) !== null, 'must be an ISO-8601 duration such as PT1H or P1D (no years or months)'),
    /** At most one survey invitation per customer, experiment and metric per this long (ISO-8601 duration). */
    SURVEY_FREQUENCY_PERIOD: z.string().default('P30D').refine((value) => isoDurationToMs(value) !== null, 'must be an ISO-8601 duration such as P30D or P2W (no years or months)'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production') {
      for (const name of ['ADMIN_API_KEY', 'TRACKING_SECRET', 'PUBLIC_BASE_URL'] as const) {
        if (!env[name]) ctx.addIssue({ code: 'custom', path: [name], message: 'is required in production' });
      }
    }
  });

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  /** Absolute DATA_DIR. */
  dataDir: string;
  /** Absolute FerretDB build cache. */
  ferretDbCacheDir: string;
  /** LOOK_INTERVAL in milliseconds. */
  lookIntervalMs: number;
  /** SURVEY_FREQUENCY_PERIOD in milliseconds. */
  surveyFrequencyPeriodMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

export function parseConfig(env: NodeJS.ProcessEnv): Readonly<Config> {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
  }
  return Object.freeze({
    ...parsed.data,
    dataDir: path.resolve(parsed.data.DATA_DIR),
    ferretDbCacheDir: path.resolve(parsed.data.FERRETDB_CACHE_DIR),
    lookIntervalMs: isoDurationToMs(parsed.data.LOOK_INTERVAL)!,
    surveyFrequencyPeriodMs: isoDurationToMs(parsed.data.SURVEY_FREQUENCY_PERIOD)!,
  });
}

let cached: Readonly<Config> | undefined;

/** The service's configuration, read from the environment on first use. */
export function getConfig(): Readonly<Config> {
  cached ??= parseConfig(process.env);
  return cached;
}

/** The environment of a child process the service starts (the FerretDB build): the service's own, with `extra` on top. */
export function childProcessEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}
