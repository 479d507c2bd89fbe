import { setTimeout as sleep } from 'node:timers/promises';
import type { Runtime } from '../../src/services/runtime.js';
import { createClient } from '../../src/services/commands/client.js';

export interface TriggerBursts {
  /** Stops sending; resolves with the instance ids of the triggers the servers acknowledged. */
  stop(): Promise<{ acked: string[]; failed: number; bursts: number }>;
}

/**
 * Load on the triggered path while the scenario hurts the processes: every `everyMs`, `burst`
 * triggers per job, all due at one instant `leadMs` ahead, so that the scheduler finds them
 * pending together and fires them as one JobFiredBatch. Bursts alternate between `burst` TriggerJob
 * commands per job (each its own JobTriggerRequested) and one TriggerJobs command holding them all
 * (each job's as one JobTriggerRequestedBatch). A command refused or unanswered (a NATS node down,
 * say) is counted, not retried: its triggers may or may not be stored, and either way must not
 * fire twice; every acknowledged one must fire exactly once.
 */
export function startTriggerBursts(
  rt: Runtime,
  jobIds: readonly string[],
  o: { everyMs: number; burst: number; leadMs: number },
): TriggerBursts {
  const client = createClient(rt, { timeoutMs: 5000 });
  const acked: string[] = [];
  let failed = 0;
  let bursts = 0;
  let stopped = false;
  const one = async (jobId: string, triggerId: string, at: number) => {
    try {
      const { result } = await client.send('TriggerJob', { jobId, triggerId, at });
      acked.push(String(result.instanceId));
    } catch {
      failed++;
    }
  };
  const all = async (at: number) => {
    const triggers = jobIds.flatMap((jobId) =>
      Array.from({ length: o.burst }, () => ({ jobId, at })),
    );
    try {
      const { result } = await client.send('TriggerJobs', { triggers });
      for (const t of result.triggers as { instanceId: string }[]) acked.push(t.instanceId);
    } catch {
      failed += triggers.length;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now() + o.leadMs;
      const n = bursts++;
      if (n % 2 === 1) await all(at);
      else
        await Promise.all(
          jobIds.flatMap((jobId) =>
            Array.from({ length: o.burst }, (_, i) => one(jobId, `b${n}-${i}`, at)),
          ),
        );
      await sleep(o.everyMs); // pacing the load, not waiting for anything
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { acked, failed, bursts };
    },
  };
}
