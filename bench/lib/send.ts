import type { Client } from '../../src/services/commands/client.js';
import type { Runtime } from '../../src/services/runtime.js';
import type { BenchConfig } from './config.js';
import { appendTrigger } from './jobs.js';
import { pipelined } from './stats.js';

/**
 * How the triggers are sent: appended straight to the stream, one TriggerJob command each (one
 * lane per job, each trigger with an id of its own), TriggerJob calls with no id of their own as a
 * producer makes them, `commandWindow` in flight (`calls`), or TriggerJobs commands whose triggers
 * go round-robin over the jobs (`bulk`) or are all of one job, the commands going round-robin over
 * the jobs (`bulk-per-job`).
 */
export type Mode = 'direct' | 'command' | 'calls' | 'bulk' | 'bulk-per-job';

/**
 * Sends `count` triggers over `jobIds` the way `mode` does; `tag` keeps the trigger ids of one
 * batch (the warm-up, the timed instances) apart from another's.
 */
export async function sendTriggers(
  rt: Runtime,
  client: Client,
  cfg: Pick<BenchConfig['throughput'], 'commandWindow' | 'bulkSize' | 'bulkWindow'>,
  mode: Mode,
  jobIds: string[],
  count: number,
  tag: string,
): Promise<void> {
  const jobs = jobIds.length;
  if (mode === 'direct') {
    await pipelined(count, 1000, (i) => appendTrigger(rt, jobIds[i % jobs] ?? '', `${tag}${i}`));
  } else if (mode === 'calls') {
    await pipelined(count, cfg.commandWindow, async (i) => {
      await client.send('TriggerJob', { jobId: jobIds[i % jobs] });
    });
  } else if (mode === 'bulk' || mode === 'bulk-per-job') {
    const commands = Math.ceil(count / cfg.bulkSize);
    await pipelined(commands, cfg.bulkWindow, async (k) => {
      const triggers = [];
      for (let i = k * cfg.bulkSize; i < Math.min(count, (k + 1) * cfg.bulkSize); i++)
        triggers.push({ jobId: jobIds[(mode === 'bulk' ? i : k) % jobs] });
      await client.send('TriggerJobs', { triggers });
    });
  } else {
    // One lane per job set, so two of our own commands never race for one job's sequence.
    const lanes = Math.min(cfg.commandWindow, jobs);
    await Promise.all(
      Array.from({ length: lanes }, async (_, k) => {
        for (let i = k; i < count; i += lanes)
          await client.send('TriggerJob', { jobId: jobIds[i % jobs], triggerId: `${tag}${i}` });
      }),
    );
  }
}
