// The campaign schedule, a periodic duty of the job runner (one instance at a time): resumes enqueues a
// restart interrupted and, for campaigns with autoSendWinner, takes the decision and sends the winner
// once winnerPolicy.after has passed since the test was sent. Everything it reads and writes is on the
// campaign, so a restart or a takeover simply carries on.
import type { Duty } from '../../jobs/runner';
import { campaignsService } from './campaigns.service';

/** `intervalMs`: SCHEDULER_INTERVAL_MS, from the composition root. */
export function campaignScheduleDuty(intervalMs: number): Duty {
  return {
    name: 'campaign-schedule',
    everyMs: intervalMs,
    run: async () => {
      await campaignsService.runDueWork();
    },
  };
}
