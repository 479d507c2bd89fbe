import type { KV } from '@nats-io/kv';
import type { Logger } from 'pino';
import { z } from 'zod';

/** Heartbeat key of a worker in the heartbeats bucket. */
export const workerHeartbeatKey = (workerId: string): string => `worker.${workerId}`;

/** Value of a worker's heartbeat key (JSON). */
export interface WorkerHeartbeat {
  kind: 'worker';
  id: string;
  group: string;
  processors: string[];
  capacity: number;
  running: number;
  startedAtMs: number;
  version: string;
}

/** What a command endpoint reads of a worker's heartbeat: its group and the processors it offers. */
const workerOfferSchema = z.object({ group: z.string(), processors: z.array(z.string()) });
export type WorkerOffer = z.infer<typeof workerOfferSchema>;

/**
 * The group and processors a worker's heartbeat value says it offers; undefined when the value is
 * not a worker heartbeat (not JSON, or without them: written by something else).
 */
export function readWorkerOffer(value: string): WorkerOffer | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  const offer = workerOfferSchema.safeParse(raw);
  return offer.success ? offer.data : undefined;
}

export interface HeartbeatLoop {
  /** Puts the first beat (errors reach the caller), then keeps beating every `intervalMs`. */
  start(): Promise<void>;
  /** Stops beating and deletes the key so the member is gone at once rather than at TTL. */
  stop(): Promise<void>;
}

export function createHeartbeat(deps: {
  kv: KV;
  key: string;
  intervalMs: number;
  value: () => WorkerHeartbeat;
  log: Logger;
  clock: { now(): number };
  /** A put sent at `sentAtMs` was acknowledged (see Presence). */
  onBeat?: (sentAtMs: number) => void;
}): HeartbeatLoop {
  const { kv, key, intervalMs, log, clock } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();

  const put = async (): Promise<void> => {
    const sentAtMs = clock.now();
    await kv.put(key, JSON.stringify(deps.value()));
    deps.onBeat?.(sentAtMs);
  };

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = put()
        .catch((err: unknown) =>
          log.warn({ err, key }, 'heartbeat put failed; retrying at the next beat'),
        )
        .finally(schedule);
    }, intervalMs);
  }

  return {
    async start() {
      await put();
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
      await kv.delete(key);
    },
  };
}
