// Send rate: messages per second through Verdict's sending path (queue → render → pooled nodemailer →
// delivery record) to a local smtp-server sink, beside nodemailer alone (same pool settings, same sink,
// pre-rendered messages) in the same run. Runs against the embedded database in a temporary DATA_DIR.
//   npx tsx scripts/bench/send-rate.ts [messages=2000] [connections=5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
// A static import, as in src/: the very module instance Verdict's sender uses. A dynamic import() would
// load nodemailer's separate ESM build, whose code warms up (JIT) apart from the CommonJS build Verdict
// runs, so the two would not be compared on equal terms.
import nodemailer from 'nodemailer';
import type { MessageRecord } from '../../src/modules/campaigns';

const MESSAGES = Number(process.argv[2] ?? 2000);
const CONNECTIONS = Number(process.argv[3] ?? 5);
/** Messages of the untimed warm-up send. */
const WARM_UP = 500;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'verdict-bench-'));
process.env.DATA_DIR = dataDir;
process.env.LOG_LEVEL ??= 'warn';
process.env.ADMIN_API_KEY ??= 'bench-admin-key-0123456789abcdef';
process.env.TRACKING_SECRET ??= 'bench-tracking-secret-0123456789abcdef0123456789';
process.env.PUBLIC_BASE_URL ??= 'https://verdict.bench';
process.env.MONGODB_DB = `verdict_bench_${process.pid}`;

async function main(): Promise<void> {
  const { SMTPServer } = await import('smtp-server');
  const { connectDatabase, disconnectDatabase, ensureIndexes } = await import('../../src/db/connection');
  const { experimentsService } = await import('../../src/modules/experiments');
  const { campaignsService, SendWorker } = await import('../../src/modules/campaigns');
  const { Readable } = await import('node:stream');
  const { JobRunner } = await import('../../src/jobs/runner');
  const { renderCampaignMessage } = await import('../../src/modules/tracking');
  const { getConfig } = await import('../../config');
  const { resolveSecrets } = await import('../../src/lib/dev-secrets');
  const { configureModules, serviceSettings } = await import('../../src/wiring');

  let received = 0;
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', () => resolve()));
  const smtpUrl = `smtp://127.0.0.1:${(sink.server.address() as AddressInfo).port}`;

  // Wired as the service is (src/server.ts).
  const settings = serviceSettings(getConfig(), resolveSecrets(getConfig()));
  configureModules(settings);
  await connectDatabase(settings.database);
  await ensureIndexes();
  try {
    // An experiment, its campaign and an audience of `n` customers.
    const prepare = async (key: string, n: number) => {
      await experimentsService.create(
        {
          key,
          name: 'Send-rate benchmark',
          assetType: 'email',
          variants: [
            { key: 'control', weight: 0.5, content: { subject: 'Welcome to Acme', html: '<p>Hello {{name}}, <a href="https://acme.example/start">get started</a></p>' } },
            { key: 'friendly', weight: 0.5, content: { subject: 'Hi {{name}}', html: '<p>Hi {{name}}! <a href="https://acme.example/start?v=2">Start here</a></p>' } },
          ],
          coverage: 1,
          metrics: { primary: 'email_open', secondary: ['csat'], guardrails: [], custom: [] },
          analysis: { alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.05, method: 'frequentist', correction: 'holm', minSamplePerVariant: 100 },
        },
        'bench',
      );
      await experimentsService.transition(key, 'start', 'bench');
      await campaignsService.create({ key, experiment: key, from: 'Acme <cx@acme.example>', testFraction: 1, winnerPolicy: { after: 'P1D', onInconclusive: 'send_control' }, autoSendWinner: false }, 'bench');
      const rows = Array.from({ length: n }, (_, i) => ({ customerId: `c${i}`, email: `c${i}@example.org`, name: `Customer ${i}` }));
      await campaignsService.uploadAudience(key, 'application/json', Readable.from([JSON.stringify(rows)]), 'bench');
    };
    // Verdict's sender drains the queue until the sink has received `n` messages, as in the service: a
    // duty of the job runner, while it holds the sending lease.
    const verdictRun = async (n: number) => {
      received = 0;
      const worker = new SendWorker({ transportOptions: { smtpUrl, maxConnections: CONNECTIONS }, pollMs: 20, progressEvery: 1_000_000 });
      const started = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      const jobs = new JobRunner({ leaseMs: getConfig().JOB_LEASE_MS }).register(worker.duty);
      jobs.start();
      while (received < n) await new Promise((resolve) => setTimeout(resolve, 10));
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      await jobs.stop();
      worker.close();
      received = 0;
      return { seconds, cpu };
    };

    // An untimed send of another campaign first: Verdict's own code (rendering, the queue, the records)
    // is compiled and warm before it is timed, as nodemailer's is (below).
    const warmKey = `bench-warm-${process.pid}`;
    await prepare(warmKey, WARM_UP);
    await campaignsService.sendTest(warmKey, 'bench');
    await verdictRun(WARM_UP);

    const key = `bench-${process.pid}`;
    await prepare(key, MESSAGES);
    // Verdict's enqueue first (assign + message records + queue entries); the sender starts later.
    const enqueueStart = process.hrtime.bigint();
    await campaignsService.sendTest(key, 'bench');
    const enqueueSeconds = Number(process.hrtime.bigint() - enqueueStart) / 1e9;

    // nodemailer alone, same sink and pool settings, the very messages Verdict is about to send (the
    // stored message records: same variants, recipients, message ids and so the same links, survey block,
    // text part, headers and Message-IDs), rendered in advance, outside the timing. It runs before and
    // after Verdict's send, so a drift of the machine's speed during the run shows instead of skewing.
    const record = await experimentsService.getRecord(key);
    const { default: mongoose } = await import('mongoose');
    const stored = await mongoose.connection.db!.collection<MessageRecord>('campaign_messages').find({ campaign: key }).toArray();
    if (stored.length !== MESSAGES) throw new Error(`expected ${MESSAGES} messages, found ${stored.length}`);
    const rendered = stored.map((m) => {
      const message = renderCampaignMessage({ campaign: { key, from: 'Acme <cx@acme.example>' }, messageId: m._id, experiment: record, variant: m.variant, recipient: { customerId: m.customerId, email: m.email!, ...(m.name ? { name: m.name } : {}) } });
      return { from: 'Acme <cx@acme.example>', to: m.email, subject: message.subject, html: message.html, text: message.text, headers: message.headers, messageId: m.messageIdHeader };
    });
    const plainRun = async () => {
      const transporter = nodemailer.createTransport({ url: smtpUrl, pool: true, maxConnections: CONNECTIONS, maxMessages: 100 } as Parameters<typeof nodemailer.createTransport>[0]);
      received = 0;
      const started = process.hrtime.bigint();
      const cpu0 = process.cpuUsage();
      let next = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS * 2 }, async () => {
          while (next < MESSAGES) {
            const i = next++;
            await transporter.sendMail(rendered[i]);
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      transporter.close();
      received = 0;
      return { seconds, cpu };
    };
    // An untimed run first: nodemailer's code (the same module Verdict's sender uses) is compiled and warm
    // before either side is timed, so neither pays the JIT's warm-up.
    await plainRun();
    const plainBefore = await plainRun();

    const { seconds: verdictSeconds, cpu: verdictCpu } = await verdictRun(MESSAGES);
    const plainAfter = await plainRun();

    const rate = (seconds: number) => (MESSAGES / seconds).toFixed(0);
    // CPU of this process (sender, SMTP sink and all) per message: less noisy than the rate on a shared machine.
    const cpuPer = (usage: NodeJS.CpuUsage) => ((usage.user + usage.system) / 1000 / MESSAGES).toFixed(2);
    const table = [
      ['path', 'messages', 'seconds', 'messages/s', 'CPU ms/message'],
      ['Verdict enqueue (assign + records)', String(MESSAGES), enqueueSeconds.toFixed(2), rate(enqueueSeconds), '-'],
      ['Verdict send (queue → SMTP → record)', String(MESSAGES), verdictSeconds.toFixed(2), rate(verdictSeconds), cpuPer(verdictCpu)],
      ['nodemailer alone (pooled), before', String(MESSAGES), plainBefore.seconds.toFixed(2), rate(plainBefore.seconds), cpuPer(plainBefore.cpu)],
      ['nodemailer alone (pooled), after', String(MESSAGES), plainAfter.seconds.toFixed(2), rate(plainAfter.seconds), cpuPer(plainAfter.cpu)],
    ];
    const plainRate = (MESSAGES / plainBefore.seconds + MESSAGES / plainAfter.seconds) / 2;
    process.stdout.write(`\nVerdict send: ${Math.round((MESSAGES / verdictSeconds / plainRate) * 100)}% of nodemailer's pooled rate (the mean of its runs before and after)\n`);
    const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    process.stdout.write(`\nSend rate to a local SMTP sink, ${CONNECTIONS} connections, embedded database (Node ${process.version})\n`);
    for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c])).join('  ')}\n`);
  } finally {
    await disconnectDatabase();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`send-rate: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
