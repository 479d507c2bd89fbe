import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';

/**
 * The set of workers whose heartbeat key exists, kept current by a KV watch: an expiry reaches
 * us as a PURGE marker (limit markers), so a lost worker is noticed as it happens, not by polling.
 */
export async function watchLiveWorkers(
  heartbeats: KV,
  log: Logger,
  onLost: (workerId: string) => void,
) {
  const live = new Set<string>();
  for await (const key of await heartbeats.keys('worker.*')) live.add(key.slice('worker.'.length));
  const it = await heartbeats.watch({ key: 'worker.*' });
  const done = (async () => {
    for await (const e of it) {
      const id = e.key.slice('worker.'.length);
      if (e.operation === 'PUT') live.add(id);
      else if (live.delete(id)) {
        log.warn({ workerId: id, operation: e.operation }, 'worker heartbeat gone');
        onLost(id);
      }
    }
  })().catch((err: unknown) => log.error({ err }, 'worker watch ended'));
  return {
    isLive: (workerId: string) => live.has(workerId),
    async stop() {
      it.stop();
      await done;
    },
  };
}
