// The send worker: claims due queue entries (a chunk of up to 100 messages, or one message being
// retried), renders each message, sends it through the one shared transport and records its outcome.
// A message is sent when it has no delivery record and no retry entry of its own; the outcome is an
// insert with the message's _id, so a message is recorded once even if two workers race for it.
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import { logger } from '../../lib/logger';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { renderCampaignMessage, suppressionService } from '../tracking';
import type { CampaignRecord, DeliveryRecord, MessageRecord, QueueEntryRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { classifySmtpError, createMailTransport, sharedMailTransport, type MailTransport, type MailTransportOptions } from './mail.transport';

export interface SendWorkerOptions {
  /** A transport to use; by default the process-wide one from the configuration. */
  transport?: MailTransport;
  /** Or options for a transport of the worker's own (closed when it stops): tests point it at a sink. */
  transportOptions?: MailTransportOptions;
  pollMs?: number;
  /** Messages in flight at once; defaults to twice the transport's connections. */
  concurrency?: number;
  /** First retry delay after a temporary failure; doubles with each attempt. */
  retryBaseMs?: number;
  maxAttempts?: number;
  /** A progress line every this many messages. */
  progressEvery?: number;
}

const liveWorkers = new Set<string>();
const wakers = new Set<() => void>();

/** Wakes idle workers in this process at once (new work was enqueued). */
export function wakeSendWorkers(): void {
  for (const wake of wakers) wake();
}

function outboxFile(message: MessageRecord): string {
  return `${message.phase}-${createHash('sha256').update(message.customerId).digest('hex').slice(0, 20)}.eml`;
}

type Outcome = 'done' | 'released' | { retry: string };

export class SendWorker {
  readonly id = `${os.hostname()}/${process.pid}/${randomUUID()}`;
  readonly stats = { sent: 0, failed: 0, bounced: 0, suppressed: 0, retried: 0 };
  private readonly transport: MailTransport;
  private readonly ownsTransport: boolean;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly progressEvery: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private processed = 0;
  private startedAt = Date.now();

  constructor(options: SendWorkerOptions = {}) {
    this.ownsTransport = !options.transport && Boolean(options.transportOptions);
    this.transport = options.transport ?? (options.transportOptions ? createMailTransport(options.transportOptions) : sharedMailTransport());
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? Math.max(2, this.transport.maxConnections * 2);
    this.retryBaseMs = options.retryBaseMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.progressEvery = options.progressEvery ?? 1000;
  }

  /** Starts claiming work; entries a crashed worker left in 'sending' are put back in the queue first. */
  async start(): Promise<void> {
    if (this.running) return;
    liveWorkers.add(this.id);
    const requeued = await campaignsRepository.requeueAbandoned([...liveWorkers]);
    if (requeued > 0) logger.info({ entries: requeued }, 'requeued campaign sends left unfinished by a stopped worker');
    this.running = true;
    this.startedAt = Date.now();
    const wake = () => this.wake?.();
    wakers.add(wake);
    this.loop = this.run().finally(() => wakers.delete(wake));
  }

  /** Finishes the messages in flight, hands the rest of the current entry back, then returns. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    liveWorkers.delete(this.id);
    if (this.ownsTransport) this.transport.close();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      let entry: QueueEntryRecord | null = null;
      try {
        entry = await campaignsRepository.claimNext(this.id, new Date());
      } catch (error) {
        logger.error({ err: error }, 'could not claim campaign sends');
      }
      if (!entry) {
        if (this.running) await this.idle(this.pollMs);
        continue;
      }
      try {
        await this.process(entry);
      } catch (error) {
        // The entry stays claimable: a database hiccup delays it, it never drops it.
        logger.error({ err: error, campaign: entry.campaign, entry: entry._id }, 'campaign send chunk failed; requeued');
        await campaignsRepository.requeue(entry._id, this.id, { nextAttemptAt: new Date(Date.now() + this.pollMs * 5) }).catch(() => undefined);
      }
    }
  }

  private async process(entry: QueueEntryRecord): Promise<void> {
    const campaign = await campaignsRepository.findByKey(entry.campaign);
    if (!campaign) {
      await campaignsRepository.deleteQueueEntry(entry._id);
      return;
    }
    const experiment = await experimentsService.getCached(campaign.experiment);
    const delivered = await campaignsRepository.findDeliveries(entry.messages);
    let pending = entry.messages.filter((id) => !delivered.has(id));
    if (entry.kind === 'batch' && pending.length > 0) {
      // A message that failed temporarily is owned by its own retry entry from then on.
      const retrying = await Promise.all(pending.map((id) => campaignsRepository.findQueueEntry(`retry:${id}`)));
      pending = pending.filter((_, i) => retrying[i] === null);
    }
    const messages = await campaignsRepository.findMessages(pending);

    let next = 0;
    let released = false;
    let retryError: string | undefined;
    const work = async () => {
      while (next < pending.length) {
        const id = pending[next++]!;
        if (!this.running) {
          released = true;
          return;
        }
        const message = messages.get(id);
        if (!message) continue;
        const outcome = await this.sendOne(entry, campaign, experiment, message);
        if (outcome === 'released') released = true;
        else if (outcome !== 'done') retryError = outcome.retry;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, pending.length) }, work));

    if (released) {
      await campaignsRepository.requeue(entry._id, this.id);
    } else if (entry.kind === 'retry' && retryError !== undefined) {
      await campaignsRepository.requeue(entry._id, this.id, { attempt: entry.attempt + 1, nextAttemptAt: this.retryAt(entry.attempt), lastError: retryError });
    } else {
      await campaignsRepository.deleteQueueEntry(entry._id);
    }
  }

  private retryAt(attempt: number): Date {
    const delay = this.retryBaseMs * 2 ** (attempt - 1);
    return new Date(Date.now() + delay * (0.8 + Math.random() * 0.4));
  }

  private async record(message: MessageRecord, fields: Pick<DeliveryRecord, 'status' | 'attempts'> & Partial<DeliveryRecord>): Promise<void> {
    await campaignsRepository.insertDelivery({
      _id: message._id,
      campaign: message.campaign,
      phase: message.phase,
      variant: message.variant,
      customerId: message.customerId,
      n: 1,
      at: new Date(),
      ...fields,
    });
    this.stats[fields.status]++;
    this.processed++;
    if (this.processed % this.progressEvery === 0) {
      const seconds = (Date.now() - this.startedAt) / 1000;
      logger.info({ campaign: message.campaign, phase: message.phase, ...this.stats, perSecond: Math.round(this.processed / Math.max(seconds, 0.001)) }, 'campaign send progress');
    }
  }

  private async sendOne(entry: QueueEntryRecord, campaign: CampaignRecord, experiment: ExperimentRecord, message: MessageRecord): Promise<Outcome> {
    if (await suppressionService.isSuppressed({ customerId: message.customerId, email: message.email })) {
      await this.record(message, { status: 'suppressed', attempts: entry.attempt - 1 });
      return 'done';
    }
    let rendered;
    try {
      rendered = renderCampaignMessage({
        campaign: { key: campaign._id, from: campaign.from, ...(campaign.replyTo ? { replyTo: campaign.replyTo } : {}) },
        messageId: message._id,
        experiment,
        variant: message.variant,
        recipient: {
          customerId: message.customerId,
          email: message.email,
          ...(message.name !== undefined ? { name: message.name } : {}),
          ...(message.locale !== undefined ? { locale: message.locale } : {}),
          ...(message.attributes !== undefined ? { attributes: message.attributes } : {}),
        },
      });
    } catch (error) {
      await this.record(message, { status: 'failed', attempts: entry.attempt - 1, error: `render: ${(error as Error).message}`.slice(0, 300) });
      return 'done';
    }
    try {
      const outcome = await this.transport.send(
        {
          from: campaign.from,
          ...(campaign.replyTo ? { replyTo: campaign.replyTo } : {}),
          to: message.email,
          subject: rendered.subject,
          html: rendered.html,
          text: rendered.text,
          headers: rendered.headers,
          messageId: message.messageIdHeader,
        },
        { campaign: campaign._id, file: outboxFile(message) },
      );
      await this.record(message, {
        status: 'sent',
        attempts: entry.attempt,
        subject: rendered.subject,
        ...(outcome.response ? { response: outcome.response.slice(0, 300) } : {}),
        ...(outcome.file ? { file: outcome.file } : {}),
      });
      return 'done';
    } catch (error) {
      const failure = classifySmtpError(error);
      const code = failure.responseCode !== undefined ? { responseCode: failure.responseCode } : {};
      if (failure.kind !== 'transient') {
        await this.record(message, { status: failure.kind, attempts: entry.attempt, subject: rendered.subject, error: failure.message, ...code });
        return 'done';
      }
      if (entry.attempt >= this.maxAttempts) {
        await this.record(message, { status: 'failed', attempts: entry.attempt, subject: rendered.subject, error: `gave up after ${entry.attempt} attempts: ${failure.message}`, ...code });
        return 'done';
      }
      this.stats.retried++;
      logger.warn({ campaign: campaign._id, phase: message.phase, attempt: entry.attempt, responseCode: failure.responseCode }, 'temporary send failure; will retry');
      if (entry.kind === 'retry') return { retry: failure.message };
      const now = new Date();
      await campaignsRepository.insertQueueEntries([
        { _id: `retry:${message._id}`, campaign: campaign._id, phase: message.phase, kind: 'retry', messages: [message._id], attempt: entry.attempt + 1, status: 'queued', nextAttemptAt: this.retryAt(entry.attempt), lastError: failure.message, createdAt: now },
      ]);
      return 'done';
    }
  }
}
