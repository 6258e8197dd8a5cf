// Polls every SCHEDULER_INTERVAL_MS: resumes enqueues a restart interrupted and, for campaigns with
// autoSendWinner, takes the decision and sends the winner once winnerPolicy.after has passed since the
// test was sent. Everything it reads and writes is on the campaign, so a restart simply carries on.
import { getConfig } from '../../../config';
import { logger } from '../../lib/logger';
import { campaignsService } from './campaigns.service';

export class CampaignScheduler {
  private timer: NodeJS.Timeout | undefined;
  private tick: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly intervalMs: number = getConfig().SCHEDULER_INTERVAL_MS) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.tick;
  }

  private schedule(delay: number): void {
    this.timer = setTimeout(() => {
      this.tick = campaignsService
        .runDueWork()
        .catch((error) => logger.error({ err: error }, 'campaign scheduler pass failed'))
        .finally(() => {
          if (!this.stopped) this.schedule(this.intervalMs);
        });
    }, delay);
  }
}
