/**
 * Allocation sampling of one process, for finding what feeds its garbage collector: V8's
 * sampling heap profiler with the samples of objects already collected kept
 * (`includeObjectsCollectedBy{Minor,Major}GC`), so the profile counts everything allocated while
 * it ran, not only what is still alive at the end (which is all `node --heap-prof` shows).
 * With `live`, collected objects' samples are dropped instead: the profile then shows what is
 * alive when it is stopped, by the place that allocated it (what a process holds, e.g. per task
 * it waits with).
 * Enabled in a process of the system under test by BENCH_ALLOC_PROFILE=<dir> (and
 * BENCH_ALLOC_LIVE_AT_MS=<ms after start> for the live view); read the files with
 * `node dist/bench/alloc-top.js <dir>`.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AllocSampling {
  /** Stops sampling and writes `<dir>/<name>.<pid>.heapprofile`; returns its path. */
  stop(): Promise<string>;
}

export async function startAllocSampling(
  dir: string,
  name: string,
  opts: { live?: boolean; samplingIntervalBytes?: number } = {},
): Promise<AllocSampling> {
  const collected = !opts.live;
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: opts.samplingIntervalBytes ?? 16_384,
    includeObjectsCollectedByMajorGC: collected,
    includeObjectsCollectedByMinorGC: collected,
  });
  return {
    async stop() {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      session.disconnect();
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${name}${opts.live ? '-live' : ''}.${process.pid}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}
