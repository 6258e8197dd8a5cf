// One shared nodemailer transport per process: pooled SMTP when SMTP_URL is set; otherwise development
// mode, where each message is composed exactly as it would be sent and written as an .eml file under
// DATA_DIR/outbox/<campaign>/.
import fs from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';

export interface MailTransportOptions {
  /** smtp:// or smtps:// URL; absent means the development outbox. */
  smtpUrl?: string;
  maxConnections?: number;
  /** Messages per second over all connections; 0 means unlimited. */
  rateLimit?: number;
  /** Where the development outbox writes (required without smtpUrl). */
  outboxDir?: string;
}

/** The process-wide transport's settings: SMTP_URL, SMTP_MAX_CONNECTIONS, SMTP_RATE_LIMIT, DATA_DIR/outbox. */
export type MailSettings = MailTransportOptions;

export interface SendOutcome {
  response?: string;
  /** Outbox mode: the file written, relative to the campaign's outbox folder. */
  file?: string;
}

export interface MailTransport {
  readonly mode: 'smtp' | 'outbox';
  readonly maxConnections: number;
  send(mail: Mail.Options, outbox: { campaign: string; file: string }): Promise<SendOutcome>;
  close(): void;
}

export function createMailTransport(options: MailTransportOptions): MailTransport {
  const maxConnections = options.maxConnections ?? 5;
  if (options.smtpUrl) {
    const rate = options.rateLimit ?? 0;
    const transporter = nodemailer.createTransport({
      url: options.smtpUrl,
      pool: true,
      maxConnections,
      maxMessages: 100,
      ...(rate > 0 ? { rateDelta: 1000, rateLimit: rate } : {}),
    } as Parameters<typeof nodemailer.createTransport>[0]);
    return {
      mode: 'smtp',
      maxConnections,
      async send(mail) {
        const info: unknown = await transporter.sendMail(mail);
        const response = (info as { response?: unknown }).response;
        return { response: typeof response === 'string' ? response : undefined };
      },
      close: () => transporter.close(),
    };
  }
  const outboxDir = options.outboxDir;
  if (!outboxDir) throw new Error('a mail transport needs smtpUrl or outboxDir');
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    mode: 'outbox',
    maxConnections,
    async send(mail, outbox) {
      const info = await transporter.sendMail(mail);
      const dir = path.join(outboxDir, outbox.campaign);
      await fs.mkdir(dir, { recursive: true });
      // Written whole, then renamed: a crash never leaves a half-written message in the outbox.
      const target = path.join(dir, outbox.file);
      const temporary = `${target}.${process.pid}.tmp`;
      await fs.writeFile(temporary, info.message as Buffer);
      await fs.rename(temporary, target);
      return { file: outbox.file };
    },
    close: () => transporter.close(),
  };
}

let shared: MailTransport | undefined;
let sharedSettings: MailSettings | undefined;

/** The process-wide transport's settings, given by the composition root (src/wiring.ts); it is made on first use. */
export function configureMail(settings: MailSettings): void {
  closeSharedMailTransport();
  sharedSettings = { ...settings };
}

/** The process-wide transport (MailSettings from configureMail). */
export function sharedMailTransport(): MailTransport {
  if (!shared) {
    if (!sharedSettings) throw new Error('mail is not configured (configureMail, called by the composition root)');
    shared = createMailTransport(sharedSettings);
  }
  return shared;
}

export function closeSharedMailTransport(): void {
  shared?.close();
  shared = undefined;
}

/** How an SMTP failure is handled: transient ones are retried, permanent ones recorded once. */
export function classifySmtpError(error: unknown): { kind: 'transient' | 'failed' | 'bounced'; responseCode?: number; message: string } {
  const e = error as { responseCode?: unknown; code?: unknown; message?: unknown };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // The server's reply may quote the address back; keep only the code and a short, address-free text.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- whatever the rejection carries, as text (it may not be an Error)
  const message = String(e.message ?? 'send failed').replace(/[^\s<>@]+@[^\s<>@]+/g, '[address]').slice(0, 300);
  if (responseCode !== undefined) {
    if (responseCode >= 400 && responseCode < 500) return { kind: 'transient', responseCode, message };
    if (responseCode === 550 || responseCode === 551 || responseCode === 553) return { kind: 'bounced', responseCode, message };
    return { kind: 'failed', responseCode, message };
  }
  // No SMTP reply: the connection failed or timed out, which is worth another try. A malformed envelope is not.
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return { kind: 'failed', message };
  return { kind: 'transient', message };
}
