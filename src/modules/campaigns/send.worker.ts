// The sender: claims due queue entries (a chunk of up to 400 messages, or one message being retried),
// renders the chunk's messages on the render thread (src/modules/tracking/render.pool.ts), sends each
// through the one shared transport and records its outcome. It runs as the job runner's `campaign-sends`
// duty, so of all the instances on one database only the holder of that lease sends; whoever takes the
// lease over first puts back what another sender left claimed.
// A message is sent when it has no delivery record and no retry entry of its own; the outcome is an
// insert with the message's _id, so a message is recorded once even if two senders race for it. What a
// kill -9 caught delivered but not yet recorded (at most one message a lane, see LANES_PER_CONNECTION)
// is sent again on resume, with the same Message-ID.
import { createHash, randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Duty, DutyContext } from '../../jobs/runner';
import { logger } from '../../lib/logger';
import { experimentsService, type ExperimentRecord } from '../experiments';
import { surveyInvitations } from '../surveys';
import { renderCampaignMessage, renderMessages, surveyMetricOf, suppressionService, type RenderOutcome } from '../tracking';
import { renderCampaignOf, renderItemOf } from './render-input';
import type { CampaignRecord, DeliveryRecord, MessageRecord, QueueEntryRecord } from './campaigns.model';
import { campaignsRepository } from './campaigns.repository';
import { classifySmtpError, createMailTransport, sharedMailTransport, type MailTransport, type MailTransportOptions } from './mail.transport';
import { fromHeaderOf, variantRules } from './sending-rules';
import { createSmsTransport, sharedSmsTransport, smsService, type SmsTransport, type SmsTransportOptions } from '../sms';
import { sendCampaignSms } from './sms.sender';

export interface SendWorkerOptions {
  /** A transport to use; by default the process-wide one from the configuration. */
  transport?: MailTransport;
  /** Or options for a transport of the worker's own (closed by close()): tests point it at a sink. */
  transportOptions?: MailTransportOptions;
  pollMs?: number;
  /** Messages in flight at once (lanes); defaults to LANES_PER_CONNECTION for each of the transport's connections. */
  concurrency?: number;
  /** First retry delay after a temporary failure; doubles with each attempt. */
  retryBaseMs?: number;
  maxAttempts?: number;
  /** A progress line every this many messages. */
  progressEvery?: number;
  /** SMS campaigns: a transport to use (by default the process-wide one), or options for one of its own (closed by close()). */
  smsTransport?: SmsTransport;
  smsTransportOptions?: SmsTransportOptions;
}

// Lanes a connection feeds. A lane sends its next message only once its last outcome is recorded, so
// while lanes of a connection wait for the database another keeps the connection busy. With messages
// rendered ahead on the render thread and 400 a chunk, interleaved runs gave (% of nodemailer's rate,
// BENCHMARKS.md): 1 lane 50-52, 2 lanes 59-81, 3 lanes 61-74, 4 lanes 56-83. A kill -9 leaves at most one
// sent message a lane unrecorded (re-sent on resume with the same Message-ID), so at most three a
// connection: the one whose SMTP exchange was cut and two whose outcomes were being recorded.
export const LANES_PER_CONNECTION = 3;

const wakers = new Set<() => void>();

/** Wakes this process's sender at once (new work was enqueued). */
export function wakeSendWorkers(): void {
  for (const wake of wakers) wake();
}

function outboxFile(message: MessageRecord): string {
  return `${message.phase}-${createHash('sha256').update(message.customerId).digest('hex').slice(0, 20)}.eml`;
}

type Outcome = 'done' | { retry: string };

/** A claimed queue entry with what was read for it (campaign null: the campaign is gone). */
type Chunk =
  | { entry: QueueEntryRecord; campaign: null }
  | {
      entry: QueueEntryRecord;
      campaign: CampaignRecord;
      experiment: ExperimentRecord;
      pending: string[];
      messages: Map<string, MessageRecord>;
      suppressed: Set<MessageRecord>;
      surveyed: Set<string>;
      /** Email messages rendered ahead on the render thread, by message _id. */
      rendered: Map<string, RenderOutcome>;
    };

export class SendWorker {
  readonly id = `${os.hostname()}/${process.pid}/${randomUUID()}`;
  readonly stats = { sent: 0, failed: 0, bounced: 0, suppressed: 0, retried: 0 };
  /** Register on the job runner: it runs while this instance holds the sending lease. */
  readonly duty: Duty;
  private readonly transport: MailTransport;
  private readonly ownsTransport: boolean;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly maxAttempts: number;
  private readonly progressEvery: number;
  private processed = 0;
  private startedAt = Date.now();

  // SMS: made on first use, so a worker that never meets an SMS campaign needs no SMS settings.
  private readonly smsOptions: Pick<SendWorkerOptions, 'smsTransport' | 'smsTransportOptions'>;
  private ownSmsTransport: SmsTransport | undefined;

  private get sms(): SmsTransport {
    if (this.smsOptions.smsTransport) return this.smsOptions.smsTransport;
    if (this.smsOptions.smsTransportOptions) return (this.ownSmsTransport ??= createSmsTransport(this.smsOptions.smsTransportOptions));
    return sharedSmsTransport();
  }

  constructor(options: SendWorkerOptions = {}) {
    this.smsOptions = { ...(options.smsTransport ? { smsTransport: options.smsTransport } : {}), ...(options.smsTransportOptions ? { smsTransportOptions: options.smsTransportOptions } : {}) };
    this.ownsTransport = !options.transport && Boolean(options.transportOptions);
    this.transport = options.transport ?? (options.transportOptions ? createMailTransport(options.transportOptions) : sharedMailTransport());
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? Math.max(2, this.transport.maxConnections * LANES_PER_CONNECTION);
    this.retryBaseMs = options.retryBaseMs ?? 60_000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.progressEvery = options.progressEvery ?? 1000;
    this.duty = { name: 'campaign-sends', continuous: true, everyMs: this.pollMs, run: (ctx) => this.run(ctx) };
  }

  /** Closes a transport of the worker's own (after the runner has stopped). */
  close(): void {
    if (this.ownsTransport) this.transport.close();
    this.ownSmsTransport?.close();
  }

  /** While the lease is held: claim an entry, send it, repeat; sleep when nothing is due. */
  private async run(ctx: DutyContext): Promise<void> {
    const requeued = await campaignsRepository.requeueClaimedByOthers(this.id);
    if (requeued > 0) logger.info({ entries: requeued }, 'requeued campaign sends another sender left unfinished');
    this.startedAt = Date.now();
    wakers.add(ctx.wake);
    // The next entry is claimed, read and rendered while the messages of the current one are in flight
    // (from when half of them have been started), and it starts as soon as every message of the current
    // one has been started: the connections never wait for a chunk's last answers, its outcomes, its
    // queue entry's removal or the next chunk's rendering. At most two chunks at once.
    let upcoming: Promise<Chunk | null> | undefined;
    const inProgress = new Set<Promise<void>>();
    try {
      while (ctx.holds()) {
        // The SMSC session stays bound while this instance sends (receipts and opt-outs arrive on it), and
        // is reconnected here when it dropped.
        this.keepSmsOpen();
        const chunk = await (upcoming ?? this.claim());
        upcoming = undefined;
        if (!chunk) {
          if (inProgress.size > 0) await Promise.race(inProgress);
          else await ctx.sleep(this.pollMs);
          continue;
        }
        let allStarted: () => void = () => undefined;
        const started = new Promise<void>((resolve) => (allStarted = resolve));
        const claimAhead = () => {
          if (ctx.holds()) upcoming ??= this.claim();
        };
        const sending: Promise<void> = this.process(chunk, ctx, claimAhead, () => {
          claimAhead();
          allStarted();
        })
          .catch(async (error: unknown) => {
            // The entry stays claimable: a database hiccup delays it, it never drops it.
            logger.error({ err: error, campaign: chunk.entry.campaign, entry: chunk.entry._id }, 'campaign send chunk failed; requeued');
            await campaignsRepository.requeue(chunk.entry._id, this.id, { nextAttemptAt: new Date(Date.now() + this.pollMs * 5) }).catch(() => undefined);
          })
          .finally(() => inProgress.delete(sending));
        inProgress.add(sending);
        await Promise.race([started, sending]);
        while (inProgress.size >= 2) await Promise.race(inProgress);
      }
    } finally {
      await Promise.all(inProgress);
      wakers.delete(ctx.wake);
      // Claimed ahead but not started (the lease was lost or the sender is stopping): handed back.
      const unstarted = await upcoming?.catch(() => null);
      if (unstarted) await campaignsRepository.requeue(unstarted.entry._id, this.id).catch(() => undefined);
    }
  }

  /**
   * Claims the next due entry and reads, for the whole chunk at once, what decides whether each of its
   * messages goes out: its delivery record, its own retry entry, the suppression list.
   */
  private async claim(): Promise<Chunk | null> {
    let entry: QueueEntryRecord | null;
    try {
      entry = await campaignsRepository.claimNext(this.id, new Date());
    } catch (error) {
      logger.error({ err: error }, 'could not claim campaign sends');
      return null;
    }
    if (!entry) return null;
    try {
      const campaign = await campaignsRepository.findByKey(entry.campaign);
      if (!campaign) return { entry, campaign: null };
      const experiment = await experimentsService.getCached(campaign.experiment);
      const delivered = await campaignsRepository.findDeliveries(entry.messages);
      let pending = entry.messages.filter((id) => !delivered.has(id));
      if (entry.kind === 'batch' && pending.length > 0) {
        // A message that failed temporarily is owned by its own retry entry from then on.
        const retrying = await campaignsRepository.findQueueEntries(pending.map((id) => `retry:${id}`));
        pending = pending.filter((id) => !retrying.has(`retry:${id}`));
      }
      const messages = await campaignsRepository.findMessages(pending);
      // Never before a message's send time (a variant's sendAt or sendDelay): its entry is due then, and
      // should one be claimed early all the same, it goes back to the queue until that time.
      const notBefore = Math.max(0, ...[...messages.values()].map((m) => m.notBefore?.getTime() ?? 0));
      if (notBefore > Date.now()) {
        await campaignsRepository.requeue(entry._id, this.id, { nextAttemptAt: new Date(notBefore) });
        return null;
      }
      const suppressed = await suppressionService.suppressedAmong([...messages.values()]);
      const surveyed = await this.claimSurveys(experiment, [...messages.values()].filter((m) => !suppressed.has(m)));
      // Rendered on the render thread while the previous chunk is still being sent.
      const toRender = campaign.channel === 'sms' ? [] : [...messages.values()].filter((m) => !suppressed.has(m));
      const outcomes = await renderMessages({ campaign: renderCampaignOf(campaign), experiment, items: toRender.map((m) => renderItemOf(m, m, surveyed.has(m._id))) });
      const rendered = new Map(toRender.map((m, i) => [m._id, outcomes[i]]));
      return { entry, campaign, experiment, pending, messages, suppressed, surveyed, rendered };
    } catch (error) {
      logger.error({ err: error, campaign: entry.campaign, entry: entry._id }, 'could not read a campaign send chunk; requeued');
      await campaignsRepository.requeue(entry._id, this.id, { nextAttemptAt: new Date(Date.now() + this.pollMs * 5) }).catch(() => undefined);
      return null;
    }
  }

  /** Sends one chunk's messages; `halfway` is called once half of them, `dispatched` once the last of them has been started. */
  private async process(chunk: Chunk, ctx: DutyContext, halfway: () => void, dispatched: () => void): Promise<void> {
    const { entry } = chunk;
    if (!chunk.campaign) {
      await campaignsRepository.deleteQueueEntry(entry._id);
      return;
    }
    const { campaign, experiment, pending, messages, suppressed, surveyed, rendered } = chunk;

    let next = 0;
    let released = false;
    let retryError: string | undefined;
    // The outcomes of concurrent lanes share one insert (group commit); a lane sends its next message
    // (rendered ahead with the chunk) once its last outcome is durable. The entry is done only
    // once every outcome is recorded; a failed record stops the chunk (it is requeued and resumes from
    // what was recorded).
    const recording: Promise<void>[] = [];
    let recordFailed = false;
    const track = (write: Promise<void>) => {
      recording.push(write);
      write.catch(() => {
        recordFailed = true;
      });
    };
    const work = async () => {
      // A lane sends its next message only once the outcome of its last one is recorded: a kill -9 then
      // leaves at most one message a lane sent but not recorded (re-sent with the same Message-ID on
      // resume). The outcomes of concurrent lanes still share their inserts.
      let previous: Promise<void> | undefined;
      const laneTrack = (write: Promise<void>) => {
        track(write);
        previous = write;
      };
      while (next < pending.length) {
        if (previous) await previous.catch(() => undefined);
        // Checked before every message: a sender that lost its lease (or is stopping) sends nothing more.
        if (!ctx.holds() || recordFailed) {
          released = true;
          return;
        }
        const id = pending[next++];
        if (next === Math.ceil(pending.length / 2)) halfway();
        if (next === pending.length) dispatched();
        const message = messages.get(id);
        if (!message) continue;
        const outcome = await this.sendOne(entry, campaign, experiment, message, suppressed.has(message), laneTrack, surveyed.has(message._id), rendered.get(message._id));
        if (outcome !== 'done') retryError = outcome.retry;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, pending.length) }, work));
    await Promise.all(recording);

    if (released) {
      await campaignsRepository.requeue(entry._id, this.id);
    } else if (entry.kind === 'retry' && retryError !== undefined) {
      await campaignsRepository.requeue(entry._id, this.id, { attempt: entry.attempt + 1, nextAttemptAt: this.retryAt(entry.attempt), lastError: retryError });
    } else {
      await campaignsRepository.deleteQueueEntry(entry._id);
    }
  }

  /** The messages that may carry the survey block: its frequency cap holds across the experiment's campaigns. */
  private async claimSurveys(experiment: ExperimentRecord, messages: MessageRecord[]): Promise<Set<string>> {
    const metric = surveyMetricOf(experiment);
    if (!metric) return new Set();
    return surveyInvitations.claim(experiment._id, metric.key, messages.map((m) => ({ messageId: m._id, customerId: m.customerId })));
  }

  private keepSmsOpen(): void {
    try {
      this.sms.keepOpen((inbound) => smsService.handleInbound(inbound));
    } catch (error) {
      logger.debug({ err: error }, 'no SMS transport');
    }
  }

  /** One message of an SMS campaign: recorded as an email's outcome is (sent, failed, or retried later). */
  private async sendSms(entry: QueueEntryRecord, campaign: CampaignRecord, experiment: ExperimentRecord, message: MessageRecord, track: (write: Promise<void>) => void, surveyed: boolean): Promise<Outcome> {
    const outcome = await sendCampaignSms(this.sms, campaign, experiment, message, surveyed);
    if (outcome.kind === 'sent') {
      track(this.record(message, { status: 'sent', attempts: entry.attempt, ...outcome.fields }));
      return 'done';
    }
    const code = outcome.responseCode !== undefined ? { responseCode: outcome.responseCode } : {};
    if (outcome.kind === 'failed') {
      track(this.record(message, { status: 'failed', attempts: entry.attempt, error: outcome.error, ...code }));
      return 'done';
    }
    if (entry.attempt >= this.maxAttempts) {
      track(this.record(message, { status: 'failed', attempts: entry.attempt, error: `gave up after ${entry.attempt} attempts: ${outcome.error}`, ...code }));
      return 'done';
    }
    this.stats.retried++;
    logger.warn({ campaign: campaign._id, phase: message.phase, attempt: entry.attempt, responseCode: outcome.responseCode }, 'temporary SMS send failure; will retry');
    if (entry.kind === 'retry') return { retry: outcome.error };
    await campaignsRepository.insertQueueEntries([
      { _id: `retry:${message._id}`, campaign: campaign._id, phase: message.phase, kind: 'retry', messages: [message._id], attempt: entry.attempt + 1, status: 'queued', nextAttemptAt: this.retryAt(entry.attempt), lastError: outcome.error, createdAt: new Date() },
    ]);
    return 'done';
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

  /** Sends one message; its outcome's record is handed to `track` (not awaited here). */
  private async sendOne(
    entry: QueueEntryRecord,
    campaign: CampaignRecord,
    experiment: ExperimentRecord,
    message: MessageRecord,
    suppressed: boolean,
    track: (write: Promise<void>) => void,
    surveyed = true,
    prepared?: RenderOutcome,
  ): Promise<Outcome> {
    if (suppressed) {
      track(this.record(message, { status: 'suppressed', attempts: entry.attempt - 1 }));
      return 'done';
    }
    if (campaign.channel === 'sms') return this.sendSms(entry, campaign, experiment, message, track, surveyed);
    let rendered;
    try {
      if (prepared && 'error' in prepared) throw new Error(prepared.error);
      rendered = prepared?.message ?? renderCampaignMessage({ campaign: renderCampaignOf(campaign), experiment, ...renderItemOf(message, message, surveyed) });
    } catch (error) {
      track(this.record(message, { status: 'failed', attempts: entry.attempt - 1, error: `render: ${(error as Error).message}`.slice(0, 300) }));
      return 'done';
    }
    try {
      const outcome = await this.transport.send(
        {
          // The variant's display name, if it has one, on the campaign's address.
          from: fromHeaderOf(campaign.from, variantRules(experiment, message.variant).fromName),
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
      track(
        this.record(message, {
        status: 'sent',
        attempts: entry.attempt,
        subject: rendered.subject,
        ...(outcome.response ? { response: outcome.response.slice(0, 300) } : {}),
        ...(outcome.file ? { file: outcome.file } : {}),
        }),
      );
      return 'done';
    } catch (error) {
      const failure = classifySmtpError(error);
      const code = failure.responseCode !== undefined ? { responseCode: failure.responseCode } : {};
      if (failure.kind !== 'transient') {
        track(this.record(message, { status: failure.kind, attempts: entry.attempt, subject: rendered.subject, error: failure.message, ...code }));
        return 'done';
      }
      if (entry.attempt >= this.maxAttempts) {
        track(this.record(message, { status: 'failed', attempts: entry.attempt, subject: rendered.subject, error: `gave up after ${entry.attempt} attempts: ${failure.message}`, ...code }));
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
