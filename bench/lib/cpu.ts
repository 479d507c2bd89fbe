import { readFileSync } from 'node:fs';

/**
 * CPU time (user + system, ms) a process has used so far, read from /proc/<pid>/stat (Linux;
 * clock ticks of 10 ms): a process's share of a run, whatever language it is written in.
 */
export function cpuMsOf(pid: number): number {
  const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}
