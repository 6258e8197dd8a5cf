import { connectDatabase, db, disconnectDatabase } from '../src/db/connection';
(async () => {
  await connectDatabase();
  const c = db().collection<{ _id: string }>('drvtest');
  for (const [label, fn] of [
    ['ping', () => db().command({ ping: 1 })],
    ['insertMany5', (i: number) => c.insertMany(Array.from({ length: 5 }, (_, k) => ({ _id: `x${i}-${k}`, experiment: 'e', customerId: `c${i}`, variant: 'a', reason: 'hash', assignedAt: new Date(), b: 'batch' })), { ordered: false })],
    ['insertOne', (i: number) => c.insertOne({ _id: `y${i}` })],
    ['findOne', (i: number) => c.findOne({ _id: `x${i}-0` })],
  ] as const) {
    for (let i = 0; i < 200; i++) await (fn as any)(i + 100000);
    const n = 2000; const cpu0 = process.cpuUsage(); const t0 = Date.now();
    for (let i = 0; i < n; i++) await (fn as any)(i);
    const cpu = process.cpuUsage(cpu0);
    console.log(label, 'cpu ms/op', ((cpu.user + cpu.system) / 1000 / n).toFixed(3), 'wall ms/op', ((Date.now() - t0) / n).toFixed(3));
  }
  await disconnectDatabase();
})();
