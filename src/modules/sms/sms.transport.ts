// One SMS transport per process: an SMPP 3.4 session (bind_transceiver) to the SMSC named by SMPP_URL,
// or, with SMPP_URL unset (development), an outbox of .json files under DATA_DIR/outbox/<campaign>/ as
// email has without SMTP. Over SMPP each message is one submit_sm with registered_delivery (long texts
// in the message_payload TLV, which the SMSC splits), at most SMS_RATE_LIMIT a second; throttling answers
// (ESME_RTHROTTLED, ESME_RMSGQFUL) are retried after a doubling wait. The session's deliver_sm (receipts
// and inbound messages) go to the handler given to keepOpen, and are acknowledged once it has stored them.
// There is no timer of its own: the sender's duty calls keepOpen on every pass, which reconnects a dropped
// session (at most once per reconnect wait, doubling while the SMSC stays away).
import fs from 'node:fs/promises';
import path from 'node:path';
import * as smpp from 'smpp';
import { logger } from '../../lib/logger';
import { countSmsSegments, SMS_DATA_CODING, type SmsEncoding } from '../../lib/sms-segments';
import { rateSchedule, senderAddress, submitOutcome, throttleBackoffMs } from './sms.protocol';

export interface SmsTransportOptions {
  /** smpp://user:pass@host:port; absent means the development outbox. */
  smppUrl?: string;
  /** Messages per second (0: no limit). */
  ratePerSecond?: number;
  /** Where the development outbox writes (required without smppUrl). */
  outboxDir?: string;
  /** Tries of a throttled submit before it is handed back as a temporary failure (the sender retries it later). */
  throttleRetries?: number;
  throttleBaseMs?: number;
  throttleMaxMs?: number;
  /** First wait before reconnecting a dropped session; doubles to 30 s while the SMSC stays away. */
  reconnectMs?: number;
  /** A submit with no answer after this long is a temporary failure. */
  responseTimeoutMs?: number;
  enquireLinkMs?: number;
}

/** The process-wide transport's settings: SMPP_URL, SMS_RATE_LIMIT, DATA_DIR/outbox. */
export type SmsSettings = SmsTransportOptions & { optOutKeywords?: string };

export interface SmsToSend {
  /** Sender id: up to 11 letters and digits, or an E.164 number. */
  from: string;
  /** E.164. */
  to: string;
  text: string;
}

export interface SmsSent {
  encoding: SmsEncoding;
  segments: number;
  /** SMPP: the SMSC's message id, which its delivery receipt names. */
  smscId?: string;
  /** Outbox mode: the file written, relative to the campaign's outbox folder. */
  file?: string;
  /** Throttled tries before it was accepted. */
  throttled: number;
}

/** A deliver_sm: a delivery receipt or an inbound (mobile-originated) message. */
export interface InboundSms {
  from: string;
  to: string;
  text: string;
  esmClass: number;
  receiptedMessageId?: string;
  messageState?: number;
}

export type InboundHandler = (sms: InboundSms) => Promise<void>;

/** A send that did not go out: 'transient' is worth another try later, 'failed' is not. */
export class SmsSendError extends Error {
  constructor(
    readonly kind: 'transient' | 'failed',
    message: string,
    readonly commandStatus?: number,
  ) {
    super(message);
    this.name = 'SmsSendError';
  }
}

export interface SmsTransport {
  readonly mode: 'smpp' | 'outbox';
  /** Makes sure the session is bound (reconnecting a dropped one), so receipts and inbound messages arrive. */
  keepOpen(onInbound: InboundHandler): void;
  send(sms: SmsToSend, outbox: { campaign: string; file: string }): Promise<SmsSent>;
  close(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function encode(text: string, encoding: SmsEncoding): Buffer {
  if (encoding === 'GSM-7') return smpp.encodings.ASCII.encode(text);
  return Buffer.from(text, 'utf16le').swap16();
}

function messageText(value: unknown): string {
  if (typeof value === 'string') return value;
  const message = (value as { message?: unknown } | undefined)?.message;
  if (typeof message === 'string') return message;
  return Buffer.isBuffer(message) ? message.toString('latin1') : '';
}

function parseSmppUrl(url: string): { host: string; port: number; systemId: string; password: string } {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: parsed.port ? Number(parsed.port) : 2775,
    systemId: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

class SmppTransport implements SmsTransport {
  readonly mode = 'smpp' as const;
  private readonly target: ReturnType<typeof parseSmppUrl>;
  private readonly nextSlot: () => number;
  private bound: Promise<smpp.Session> | undefined;
  private session: smpp.Session | undefined;
  private onInbound: InboundHandler | undefined;
  private readonly pending = new Set<(error: Error) => void>();
  private retryAfter = 0;
  private reconnectWait: number;
  private closed = false;

  constructor(private readonly options: SmsTransportOptions & { smppUrl: string }) {
    this.target = parseSmppUrl(options.smppUrl);
    this.nextSlot = rateSchedule(options.ratePerSecond ?? 0);
    this.reconnectWait = options.reconnectMs ?? 1000;
  }

  keepOpen(onInbound: InboundHandler): void {
    this.onInbound = onInbound;
    if (this.bound || this.closed || Date.now() < this.retryAfter) return;
    this.connect().catch((error: unknown) => logger.warn({ err: error, host: this.target.host, port: this.target.port }, 'SMSC not reachable; will reconnect'));
  }

  private connect(): Promise<smpp.Session> {
    if (this.bound) return this.bound;
    if (this.closed) return Promise.reject(new SmsSendError('transient', 'the SMS transport is closed'));
    const bound = new Promise<smpp.Session>((resolve, reject) => {
      const session = smpp.connect({ host: this.target.host, port: this.target.port, auto_enquire_link_period: this.options.enquireLinkMs ?? 30_000 });
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        reject(new SmsSendError('transient', `SMSC: ${error.message}`));
      };
      session.on('connect', () => {
        session.bind_transceiver({ system_id: this.target.systemId, password: this.target.password, interface_version: 0x34 }, (pdu) => {
          if (pdu.command_status !== 0) {
            fail(new Error(`bind_transceiver refused (status 0x${pdu.command_status.toString(16)})`));
            session.destroy();
            return;
          }
          settled = true;
          this.session = session;
          this.reconnectWait = this.options.reconnectMs ?? 1000;
          logger.info({ host: this.target.host, port: this.target.port }, 'SMSC bound (transceiver)');
          resolve(session);
        });
      });
      session.on('deliver_sm', (pdu: smpp.PDU) => this.deliver(session, pdu));
      // The SMSC checks the link too: answered at once.
      session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
      session.on('unbind', (pdu: smpp.PDU) => {
        session.send(pdu.response());
        session.close();
      });
      session.on('error', (error: Error) => {
        logger.warn({ err: error }, 'SMSC session error');
        fail(error);
      });
      session.on('close', () => {
        fail(new Error('connection closed'));
        if (this.session === session) this.session = undefined;
        if (this.bound === bound) this.bound = undefined;
        // What was waiting for an answer on this session will never get one: a temporary failure each.
        for (const rejectPending of [...this.pending]) rejectPending(new SmsSendError('transient', 'SMSC connection lost before the answer'));
        if (!this.closed) {
          this.retryAfter = Date.now() + this.reconnectWait;
          this.reconnectWait = Math.min(this.reconnectWait * 2, 30_000);
          logger.warn({ host: this.target.host, port: this.target.port }, 'SMSC connection closed; reconnecting on the next pass');
        }
      });
    });
    this.bound = bound;
    bound.catch(() => {
      if (this.bound === bound) this.bound = undefined;
    });
    return bound;
  }

  private deliver(session: smpp.Session, pdu: smpp.PDU): void {
    const inbound: InboundSms = {
      from: typeof pdu.source_addr === 'string' ? pdu.source_addr : '',
      to: typeof pdu.destination_addr === 'string' ? pdu.destination_addr : '',
      text: messageText(pdu.short_message) || messageText(pdu.message_payload),
      esmClass: Number(pdu.esm_class ?? 0),
      ...(typeof pdu.receipted_message_id === 'string' ? { receiptedMessageId: pdu.receipted_message_id } : {}),
      ...(typeof pdu.message_state === 'number' ? { messageState: pdu.message_state } : {}),
    };
    const handler = this.onInbound;
    // Acknowledged once stored: on a failure the SMSC is told to try again later (ESME_RX_T_APPN).
    (handler ? handler(inbound) : Promise.reject(new Error('no handler')))
      .then(() => session.send(pdu.response()))
      .catch((error: unknown) => {
        logger.error({ err: error }, 'could not record a deliver_sm; the SMSC will redeliver it');
        session.send(pdu.response({ command_status: smpp.ESME_RX_T_APPN }));
      });
  }

  private submitOnce(session: smpp.Session, fields: Record<string, unknown>): Promise<smpp.PDU> {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => done(new SmsSendError('transient', 'SMSC did not answer the submit in time')), this.options.responseTimeoutMs ?? 10_000);
      const done = (error: Error | null, pdu?: smpp.PDU) => {
        clearTimeout(timeout);
        this.pending.delete(done);
        if (error) reject(error);
        else resolve(pdu!);
      };
      this.pending.add(done);
      if (!session.submit_sm(fields, (pdu) => done(null, pdu))) done(new SmsSendError('transient', 'SMSC connection not writable'));
    });
  }

  async send(sms: SmsToSend): Promise<SmsSent> {
    const { encoding, segments } = countSmsSegments(sms.text);
    const data = encode(sms.text, encoding);
    const sender = senderAddress(sms.from);
    const fields: Record<string, unknown> = {
      source_addr: sender.addr,
      source_addr_ton: sender.ton,
      source_addr_npi: sender.npi,
      destination_addr: sms.to.replace(/^\+/, ''),
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      registered_delivery: 1,
      data_coding: SMS_DATA_CODING[encoding],
      // One segment in short_message; a longer text in message_payload, which the SMSC splits.
      ...(segments === 1 ? { short_message: data } : { message_payload: data }),
    };
    const tries = (this.options.throttleRetries ?? 5) + 1;
    for (let attempt = 1; ; attempt++) {
      const wait = this.nextSlot();
      if (wait > 0) await sleep(wait);
      const session = await this.connect();
      const pdu = await this.submitOnce(session, { ...fields });
      const outcome = submitOutcome(pdu.command_status);
      if (outcome === 'sent') return { encoding, segments, smscId: typeof pdu.message_id === 'string' ? pdu.message_id : '', throttled: attempt - 1 };
      const status = `0x${pdu.command_status.toString(16).padStart(8, '0')}`;
      if (outcome === 'refused') throw new SmsSendError('failed', `submit_sm refused (command_status ${status})`, pdu.command_status);
      if (attempt >= tries) throw new SmsSendError('transient', `SMSC still throttling after ${attempt} tries (command_status ${status})`, pdu.command_status);
      await sleep(throttleBackoffMs(attempt, this.options.throttleBaseMs ?? 500, this.options.throttleMaxMs ?? 10_000));
    }
  }

  close(): void {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    this.bound = undefined;
    if (session) {
      try {
        session.unbind();
      } catch {
        // closing anyway
      }
      session.close();
    }
  }
}

class OutboxTransport implements SmsTransport {
  readonly mode = 'outbox' as const;
  constructor(private readonly outboxDir: string) {}

  keepOpen(): void {
    // Nothing to connect: the outbox receives no receipts.
  }

  async send(sms: SmsToSend, outbox: { campaign: string; file: string }): Promise<SmsSent> {
    const { encoding, segments } = countSmsSegments(sms.text);
    const dir = path.join(this.outboxDir, outbox.campaign);
    await fs.mkdir(dir, { recursive: true });
    // Written whole, then renamed: a crash never leaves a half-written message in the outbox.
    const target = path.join(dir, outbox.file);
    const temporary = `${target}.${process.pid}.tmp`;
    await fs.writeFile(temporary, `${JSON.stringify({ from: sms.from, to: sms.to, text: sms.text, encoding, segments }, null, 2)}\n`);
    await fs.rename(temporary, target);
    return { encoding, segments, file: outbox.file, throttled: 0 };
  }

  close(): void {
    // Nothing held open.
  }
}

export function createSmsTransport(options: SmsTransportOptions): SmsTransport {
  if (options.smppUrl) return new SmppTransport({ ...options, smppUrl: options.smppUrl });
  if (!options.outboxDir) throw new Error('an SMS transport needs smppUrl or outboxDir');
  return new OutboxTransport(options.outboxDir);
}
