import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system, ms) a process has used so far, read from /proc/<pid>/stat (Linux;
 * clock ticks of 10 ms): a process's share of a run, whatever language it is written in.
 */
export function cpuMsOf(pid: number): number {
  const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

/**
 * CPU time (ms) every core of this machine has spent busy so far (all processes: user, nice,
 * system, irq, softirq, steal; from the first line of /proc/stat, clock ticks of 10 ms).
 */
export function machineBusyMs(): number {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const ticks = [1, 2, 3, 6, 7, 8].reduce((sum, i) => sum + Number(f[i] ?? 0), 0);
  return ticks * 10;
}
