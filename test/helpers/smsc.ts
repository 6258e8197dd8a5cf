// A real SMPP 3.4 server on loopback playing the SMSC, from the same `smpp` package's server side: it
// binds transceivers (checking system_id and password), answers submit_sm with a message id (or with
// ESME_RTHROTTLED for chosen numbers), sends a delivery receipt per message (DELIVRD unless told
// otherwise, redelivered while the client answers it with an error), and sends inbound messages (STOP).
import type { AddressInfo } from 'node:net';
import * as smpp from 'smpp';
import { registerStopper } from './resources';

export interface SmscMessage {
  to: string;
  from: string;
  text: string;
  dataCoding: number;
  smscId: string;
  registeredDelivery: number;
}

export interface Smsc {
  url: string;
  messages: SmscMessage[];
  /** Submits to this number (E.164) answered ESME_RTHROTTLED for the next `times` tries. */
  throttle(phone: string, times: number, status?: number): void;
  /** The receipt's stat for messages to this number (DELIVRD by default). */
  receiptFor(phone: string, stat: string): void;
  /** Submits seen per number, throttled ones included. */
  submitsFor(phone: string): number;
  messagesTo(phone: string): SmscMessage[];
  /** Receipts the client acknowledged (deliver_sm_resp with status 0). */
  acknowledgedReceipts: number;
  /** An inbound SMS from `phone`, on a bound session; resolves once the client acknowledged it. */
  sendInbound(phone: string, text: string, timeoutMs?: number): Promise<void>;
  /** Cuts every client connection (the client must reconnect). */
  dropConnections(): void;
  boundSessions(): number;
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const digits = (phone: string) => phone.replace(/^\+/, '');

export async function startSmsc(options: { systemId?: string; password?: string } = {}): Promise<Smsc> {
  const systemId = options.systemId ?? 'verdict';
  const password = options.password ?? 'secret';
  const messages: SmscMessage[] = [];
  const throttled = new Map<string, { left: number; status: number }>();
  const stats = new Map<string, string>();
  const submits = new Map<string, number>();
  const bound = new Set<smpp.Session>();
  let ids = 0;
  const state = { acknowledgedReceipts: 0 };

  function deliver(session: smpp.Session, fields: Record<string, unknown>, attemptsLeft: number, onAck?: () => void): void {
    session.deliver_sm(fields, (pdu) => {
      if (pdu.command_status === 0) {
        onAck?.();
        return;
      }
      // The client could not store it yet: delivered again a little later, as SMSCs do.
      if (attemptsLeft > 1) setTimeout(() => bound.has(session) && deliver(session, fields, attemptsLeft - 1, onAck), 100);
    });
  }

  const server = smpp.createServer((session) => {
    session.on('error', () => undefined);
    session.on('bind_transceiver', (pdu: smpp.PDU) => {
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        session.close();
        return;
      }
      session.send(pdu.response({ system_id: 'test-smsc' }));
      bound.add(session);
    });
    session.on('close', () => bound.delete(session));
    session.on('enquire_link', (pdu: smpp.PDU) => session.send(pdu.response()));
    session.on('unbind', (pdu: smpp.PDU) => {
      bound.delete(session);
      session.send(pdu.response());
      session.close();
    });
    session.on('submit_sm', (pdu: smpp.PDU) => {
      const to = `+${String(pdu.destination_addr)}`;
      submits.set(to, (submits.get(to) ?? 0) + 1);
      const throttle = throttled.get(to);
      if (throttle && throttle.left > 0) {
        throttle.left--;
        session.send(pdu.response({ command_status: throttle.status }));
        return;
      }
      const smscId = `smsc-${++ids}`;
      const payload = (pdu.short_message as { message?: string } | undefined)?.message || (pdu.message_payload as { message?: string } | undefined)?.message || '';
      messages.push({ to, from: String(pdu.source_addr), text: payload, dataCoding: Number(pdu.data_coding), smscId, registeredDelivery: Number(pdu.registered_delivery) });
      session.send(pdu.response({ message_id: smscId }));
      if (Number(pdu.registered_delivery) & 1) {
        const stat = stats.get(to) ?? 'DELIVRD';
        const receipt = `id:${smscId} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2612020400 done date:2612020401 stat:${stat} err:${stat === 'DELIVRD' ? '000' : '001'} text:${payload.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}`;
        setTimeout(
          () => deliver(session, { source_addr: digits(to), destination_addr: String(pdu.source_addr), esm_class: 0x04, data_coding: 0, short_message: receipt }, 20, () => state.acknowledgedReceipts++),
          10,
        );
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  const dropConnections = () => {
    for (const session of [...server.sessions]) {
      bound.delete(session);
      session.destroy();
    }
  };
  const close = async () => {
    if (closed) return;
    closed = true;
    dropConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  registerStopper(close);
  const waitFor = async (predicate: () => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the SMSC');
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  return {
    url: `smpp://${systemId}:${password}@127.0.0.1:${port}`,
    messages,
    throttle: (phone, times, status = smpp.ESME_RTHROTTLED) => throttled.set(phone, { left: times, status }),
    receiptFor: (phone, stat) => stats.set(phone, stat),
    submitsFor: (phone) => submits.get(phone) ?? 0,
    messagesTo: (phone) => messages.filter((m) => m.to === phone),
    get acknowledgedReceipts() {
      return state.acknowledgedReceipts;
    },
    async sendInbound(phone, text, timeoutMs = 20_000) {
      await waitFor(() => bound.size > 0, timeoutMs);
      const session = [...bound][0];
      let acknowledged = false;
      deliver(session, { source_addr: digits(phone), destination_addr: 'AcmeCare', esm_class: 0, short_message: text }, 20, () => (acknowledged = true));
      await waitFor(() => acknowledged, timeoutMs);
    },
    dropConnections,
    boundSessions: () => bound.size,
    waitFor,
    close,
  };
}
