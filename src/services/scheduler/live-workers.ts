import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';

/**
 * Which workers are alive, from their heartbeat keys. Kept current by a KV watch: an expiry
 * reaches us as a PURGE marker (limit markers), so a lost worker is noticed as it happens.
 * A worker we have not heard of yet (its first beat may still be on its way) is looked up
 * directly before it is declared gone, so a new worker is never mistaken for a lost one.
 */
export async function watchLiveWorkers(
  heartbeats: KV,
  log: Logger,
  onLost: (workerId: string) => void,
) {
  const live = new Set<string>();
  const gone = new Set<string>();
  for await (const key of await heartbeats.keys('worker.*')) live.add(key.slice('worker.'.length));
  const it = await heartbeats.watch({ key: 'worker.*' });
  const done = (async () => {
    for await (const e of it) {
      const id = e.key.slice('worker.'.length);
      if (e.operation === 'PUT') {
        live.add(id);
        gone.delete(id);
      } else if (live.delete(id) || !gone.has(id)) {
        gone.add(id);
        log.warn({ workerId: id, operation: e.operation }, 'worker heartbeat gone');
        onLost(id);
      }
    }
  })().catch((err: unknown) => log.error({ err }, 'worker watch ended'));
  return {
    /** True when the worker's heartbeat is known to be there, without asking the bucket. */
    isLive: (workerId: string): boolean => live.has(workerId),
    /** True when the worker's heartbeat is known to be gone (expired or deleted). */
    async isGone(workerId: string): Promise<boolean> {
      if (live.has(workerId)) return false;
      if (gone.has(workerId)) return true;
      const e = await heartbeats.get(`worker.${workerId}`);
      const alive = e?.operation === 'PUT';
      if (alive) live.add(workerId);
      else gone.add(workerId);
      return !alive;
    },
    async stop() {
      it.stop();
      await done;
    },
  };
}
