import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import type { Runtime } from '../../src/services/runtime.js';
import { createClient, type Client } from '../../src/services/commands/client.js';
import { makeEvent } from '../../src/events/build.js';
import { partitionOf, subjects } from '../../src/events/subjects.js';
import { pipelined } from './stats.js';

export const GROUP = 'bench';
export const BENCH_ACTOR = { kind: 'client' as const, id: 'bench' };

export function benchClient(rt: Runtime): Client {
  return createClient(rt, { actor: BENCH_ACTOR, timeoutMs: 120_000 });
}

export const manualJob = (name: string) => ({
  name,
  group: GROUP,
  processor: 'noop',
  schedule: { manual: true },
});

/**
 * Registers jobs through the command path (RegisterJob request-reply to a running server), with
 * `window` requests in flight. Returns the elapsed milliseconds.
 */
export async function registerJobs(
  client: Client,
  specs: readonly unknown[],
  window: number,
): Promise<number> {
  const t0 = performance.now();
  await pipelined(specs.length, window, async (i) => {
    await client.send('RegisterJob', { spec: specs[i] });
  });
  return performance.now() - t0;
}

/** The subject of a job's events. */
export function jobSubject(rt: Runtime, jobId: string): string {
  return subjects.job(rt.names, partitionOf(jobId, rt.partitions), jobId);
}

/** Appends a JobTriggerRequested straight to the job's trigger subject (no command, no check). */
export async function appendTrigger(rt: Runtime, jobId: string, triggerId: string): Promise<void> {
  const nowMs = Date.now();
  const event = makeEvent(
    'JobTriggerRequested',
    { jobId, triggerId, dueAtMs: nowMs, reason: 'manual' },
    { actor: BENCH_ACTOR, nowMs },
    `bench-trigger:${jobId}:${triggerId}`,
  );
  const subject = subjects.triggers(rt.names, partitionOf(jobId, rt.partitions), jobId);
  await rt.store.append(subject, event, { trusted: true });
}

/**
 * Counts instance events from `fromSeq` on, by their `Jetsched-Type` header (a headers-only ordered
 * consumer: no payloads are parsed, so watching costs the harness little CPU).
 */
export async function watchInstances(js: JetStreamClient, rt: Runtime, fromSeq: number) {
  const consumer = await js.consumers.get(rt.names.eventStream, {
    filter_subjects: [`${rt.names.prefix}.evt.*.inst.*`],
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
    headers_only: true,
  });
  const messages = await consumer.consume({ max_messages: 4096 });
  const counts = new Map<string, number>();
  const terminal = new Map<string, number>();
  let waiter: { n: number; resolve: (ms: number) => void } | undefined;
  const loop = (async () => {
    for await (const m of messages) {
      const type = m.headers?.get('Jetsched-Type') ?? '?';
      counts.set(type, (counts.get(type) ?? 0) + 1);
      if (
        type === 'InstanceSucceeded' ||
        type === 'InstanceFailed' ||
        type === 'InstanceCancelled'
      ) {
        terminal.set(m.subject, (terminal.get(m.subject) ?? 0) + 1);
      }
      if (waiter && (counts.get('InstanceSucceeded') ?? 0) >= waiter.n) {
        waiter.resolve(performance.now());
        waiter = undefined;
      }
    }
  })();
  return {
    counts,
    /** Instances with more than one terminal event. */
    duplicateTerminals: () => [...terminal.values()].filter((n) => n > 1).length,
    /** Resolves with performance.now() when `n` InstanceSucceeded have been seen. */
    succeeded(n: number, timeoutMs: number): Promise<number> {
      if ((counts.get('InstanceSucceeded') ?? 0) >= n) return Promise.resolve(performance.now());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = undefined;
          reject(
            new Error(
              `only ${counts.get('InstanceSucceeded') ?? 0} of ${n} instances succeeded within ${timeoutMs} ms (${JSON.stringify(Object.fromEntries(counts))})`,
            ),
          );
        }, timeoutMs);
        waiter = {
          n,
          resolve: (ms) => {
            clearTimeout(timer);
            resolve(ms);
          },
        };
      });
    },
    async close() {
      await messages.close();
      await loop;
    },
  };
}
