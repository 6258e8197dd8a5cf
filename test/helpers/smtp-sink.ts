// A real SMTP server on loopback for tests: keeps every message it accepts (parsed by mailparser), and
// answers chosen recipients with a temporary (421) or permanent (550) error.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { registerStopper } from './resources';

export interface SinkMessage {
  to: string;
  parsed: ParsedMail;
}

export interface SmtpSink {
  url: string;
  messages: SinkMessage[];
  /** Recipients refused with a temporary error (421 by default) for their next `times` attempts. */
  failTemporarily(address: string, times: number, code?: number): void;
  /** Recipients always refused with 550. */
  rejectPermanently(address: string): void;
  /** Messages accepted per recipient address. */
  countFor(address: string): number;
  /** Temporary (421) refusals given to a recipient address. */
  refusalsFor(address: string): number;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(options: { parse?: boolean } = {}): Promise<SmtpSink> {
  const parse = options.parse ?? true;
  const messages: SinkMessage[] = [];
  const counts = new Map<string, number>();
  const temporary = new Map<string, { left: number; code: number }>();
  const permanent = new Set<string>();
  const refusals = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const to = address.address.toLowerCase();
      const pending = temporary.get(to);
      if (pending && pending.left > 0) {
        pending.left--;
        refusals.set(to, (refusals.get(to) ?? 0) + 1);
        const error = new Error('Service not available, try again later') as Error & { responseCode: number };
        error.responseCode = pending.code;
        callback(error);
        return;
      }
      if (permanent.has(to)) {
        const error = new Error('Mailbox unavailable') as Error & { responseCode: number };
        error.responseCode = 550;
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const to = (session.envelope.rcptTo[0]?.address ?? '').toLowerCase();
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        counts.set(to, (counts.get(to) ?? 0) + 1);
        if (!parse) {
          callback();
          return;
        }
        simpleParser(Buffer.concat(chunks)).then(
          (parsed) => {
            messages.push({ to, parsed });
            callback();
          },
          (error: unknown) => {
            callback(error instanceof Error ? error : new Error(String(error)));
          },
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  // A client killed mid-exchange (the crash tests kill senders with -9) resets its connection: that is
  // the sender's failure, not the sink's; smtp-server reports it as an error event on the server.
  server.on('error', () => undefined);
  const port = (server.server.address() as AddressInfo).port;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  registerStopper(close);
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    failTemporarily: (address, times, code = 421) => temporary.set(address.toLowerCase(), { left: times, code }),
    rejectPermanently: (address) => permanent.add(address.toLowerCase()),
    countFor: (address) => counts.get(address.toLowerCase()) ?? 0,
    refusalsFor: (address) => refusals.get(address.toLowerCase()) ?? 0,
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error('timed out waiting for the SMTP sink');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    close,
  };
}
