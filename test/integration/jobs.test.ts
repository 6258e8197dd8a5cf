// The one job runner: a leased duty runs on one instance at a time and moves to another when its holder
// stops; a duty about the instance itself runs on every instance; a wake ends a duty's sleep at once.
import assert from 'node:assert/strict';
import { JobRunner, type Duty } from '../../src/jobs/runner';
import { uniqueKey } from '../helpers/factories';
import { connectTestDatabase } from '../helpers/app';

const LEASE_MS = 600;
const runner = (instanceId: string) => new JobRunner({ leaseMs: LEASE_MS, retryMs: 50, instanceId });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A periodic duty that records which instance ran it and whether two runs ever overlapped. */
function probeDuty(name: string, options: Partial<Duty> = {}) {
  const runs: string[] = [];
  let active = 0;
  let overlapped = false;
  const make = (instance: string): Duty => ({
    name,
    everyMs: 20,
    ...options,
    run: async () => {
      active++;
      if (active > 1) overlapped = true;
      runs.push(instance);
      await sleep(5);
      active--;
    },
  });
  return { make, runs, overlapped: () => overlapped };
}

describe('job runner', () => {
  before(() => connectTestDatabase());

  it('when two instances run the same leased duty, then only one runs it at a time, and the other takes it over when the first stops', async () => {
    const probe = probeDuty(uniqueKey('leased'));
    const a = runner('instance-a').register(probe.make('a'));
    a.start();
    await sleep(150);
    const b = runner('instance-b').register(probe.make('b'));
    b.start();
    await sleep(600);
    assert.ok(probe.runs.length > 5, `ran ${probe.runs.length} times`);
    assert.deepEqual([...new Set(probe.runs)], ['a'], 'only the holder runs it while it is alive');
    await a.stop();
    const stoppedAt = probe.runs.length;
    await sleep(600);
    await b.stop();
    assert.ok(probe.runs.slice(stoppedAt).length > 0 && probe.runs.slice(stoppedAt).every((r) => r === 'b'), 'the other instance took it over');
    assert.equal(probe.overlapped(), false);
  });

  it('when a duty runs on every instance, then each instance runs it, without a lease', async () => {
    const probe = probeDuty(uniqueKey('local'), { everyInstance: true });
    const a = runner('instance-a').register(probe.make('a'));
    const b = runner('instance-b').register(probe.make('b'));
    a.start();
    b.start();
    await sleep(400);
    await Promise.all([a.stop(), b.stop()]);
    assert.ok(probe.runs.includes('a') && probe.runs.includes('b'), `runs: ${[...new Set(probe.runs)].join(', ')}`);
  });

  it('when a sleeping duty is woken, then its next run starts at once, not after its interval', async () => {
    const name = uniqueKey('woken');
    const runs: number[] = [];
    const a = runner('instance-a').register({
      name,
      everyMs: 60_000,
      continuous: true,
      run: async (ctx) => {
        while (ctx.holds()) {
          runs.push(Date.now());
          await ctx.sleep(60_000);
        }
      },
    });
    a.start();
    await sleep(200);
    assert.equal(runs.length, 1);
    a.wake(name);
    await sleep(100);
    await a.stop();
    assert.equal(runs.length, 2, 'woken once, ran once more');
  });
});
