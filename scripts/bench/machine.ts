// Shared by the bench scripts: the machine a figure was measured on, and percentiles.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export function machine(): string {
  const cpu = (/^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8')))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  let nproc = String(os.cpus().length);
  try {
    nproc = execSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // os.cpus() is the fallback
  }
  return `nproc ${nproc}, ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB memory, Node ${process.version}, ${os.type()} ${os.release()}`;
}

/** The p-th percentile of values already sorted ascending (NaN when empty). */
export function percentileOfSorted(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
