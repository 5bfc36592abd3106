/**
 * CPU time of processes from /proc (Linux): user + system seconds. On a
 * shared 2-core box wall-clock figures follow the scheduler; CPU seconds per
 * unit of work do not, so benches print both.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

interface Stat {
  comm: string;
  seconds: number;
}

function statOf(pid: number | string): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    return { comm: stat.slice(open + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return undefined; // gone
  }
}

/**
 * CPU seconds one process has used so far, summed over its threads from the
 * scheduler's own runtime counters (/proc/<pid>/task/<tid>/schedstat, in
 * nanoseconds); 0 when it is gone. Finer than cpuSecondsOf's clock ticks,
 * for short measurement blocks. Threads that exited in between are not
 * counted (node's threads live as long as the process).
 */
export function preciseCpuSecondsOf(pid: number): number {
  let ns = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        /* thread gone */
      }
    }
  } catch {
    return 0;
  }
  return ns / 1e9;
}

/** CPU seconds one process has used so far (0 when it is gone). */
export function cpuSecondsOf(pid: number): number {
  return statOf(pid)?.seconds ?? 0;
}

/** CPU seconds so far of every live process whose command name is one of `comms`, summed per name. */
export function cpuSecondsByCommand(comms: readonly string[]): Map<string, number> {
  const totals = new Map<string, number>(comms.map((c) => [c, 0]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (stat && totals.has(stat.comm)) totals.set(stat.comm, totals.get(stat.comm)! + stat.seconds);
  }
  return totals;
}
