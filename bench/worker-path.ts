/**
 * What a worker's own code costs per task, without NATS: task messages go through the worker's
 * task handler (parse and check, run slot, attempt, no-op processor, report, ack) with the real
 * event store, whose publisher answers every publish in the next turn of the event loop, as a
 * PubAck would come. Against a floor in the same process: the same messages parsed, each task's
 * report encoded and published through the same store, and the message acked when its reports are
 * answered. Both encode each task message as they are fed it (part of the CPU counted). Prints µs
 * of CPU per task, medians of `runs`.
 * Usage: node dist/bench/worker-path.js [tasks=200000] [tasksPerMessage=25] [runs=5]
 * With BENCH_ALLOC_PROFILE=<dir>, the last run of each variant is allocation-sampled there (read
 * with `node dist/bench/alloc-top.js <dir> --per <tasks>`).
 */
import type { Logger } from 'pino';
import { names as makeNames, subjects } from '../src/events/subjects.js';
import { taskMessageFor, type TaskMessage } from '../src/events/task.js';
import type { JetschedEvent } from '../src/events/event.js';
import { handleTaskMessage, warmTaskParsers } from '../src/services/worker/task-handler.js';
import type { TaskDelivery } from '../src/services/worker/task-puller.js';
import { startAllocSampling, type AllocSampling } from './lib/alloc-sampling.js';
import { handlerDeps, storeWithoutNats, taskDelivery } from './lib/handler-harness.js';
import { benchLogger } from './lib/nats.js';
import { median } from './lib/stats.js';

const totalTasks = Number(process.argv[2] ?? 200_000);
const perMessage = Number(process.argv[3] ?? 25);
const runs = Number(process.argv[4] ?? 5);
const CONCURRENCY = 64;
const names = makeNames('wpath');

/**
 * The task messages of `count` tasks numbered from `from`, each encoded as it is asked for (as a
 * worker receives them): made all up front, they lived on through the run and set off a third of
 * the runs into far more promotion and 3-4× the CPU per task.
 */
function* messagesOf(count: number, from: number): Generator<Uint8Array> {
  for (let i = 0; i < count; i += perMessage) {
    const now = Date.now();
    const tasks: TaskMessage[] = [];
    for (let j = i; j < Math.min(count, i + perMessage); j++) {
      const n = from + j;
      tasks.push({
        v: 1,
        instanceId: `job-${n % 100}~t-${n}`,
        jobId: `job-${n % 100}`,
        partition: n % 16,
        attempt: 1,
        processor: 'noop',
        params: {},
        fireTimeMs: now - 5,
        priority: 0,
        dispatchSeq: 0,
        dispatchedAtMs: now,
      });
    }
    yield taskMessageFor(tasks).payload;
  }
}

/** Feeds messages as the worker's pull loop does: while fewer than 2 × concurrency tasks are held. */
async function drive(
  payloads: Iterable<Uint8Array>,
  handle: (m: TaskDelivery) => Promise<void>[],
): Promise<void> {
  const held = new Set<Promise<void>>();
  let wake: (() => void) | undefined;
  let seq = 0;
  for (const p of payloads) {
    while (held.size >= 2 * CONCURRENCY) await new Promise<void>((resolve) => (wake = resolve));
    for (const t of handle(taskDelivery(names, p, ++seq))) {
      held.add(t);
      void t.finally(() => {
        held.delete(t);
        const w = wake;
        wake = undefined;
        w?.();
      });
    }
  }
  await Promise.all(held);
}

/** The floor: parse, report through the same store, ack when the message's reports are answered. */
function floorHandler(log: Logger): Variant {
  const store = storeWithoutNats(names);
  let reported = 0;
  const handle = (m: TaskDelivery) => {
    const body = m.json<{ tasks?: TaskMessage[] } & TaskMessage>();
    const tasks = body.tasks ?? [body];
    let left = tasks.length;
    return tasks.map(async (t) => {
      const now = Date.now();
      const event = {
        type: 'InstanceSucceeded',
        v: 1,
        id: crypto.randomUUID(),
        atMs: now,
        actor: { kind: 'worker', id: 'w-bench' },
        data: {
          instanceId: t.instanceId,
          attempt: t.attempt,
          workerId: 'w-bench',
          startedAtMs: now,
        },
      } as JetschedEvent;
      try {
        await store.append(subjects.instance(names, t.partition, t.instanceId), event, {
          expectedLastSubjectSeq: t.dispatchSeq,
          trusted: true,
          dedup: false,
        });
        reported++;
      } catch (err) {
        log.error({ err }, 'report failed');
      }
      if (--left === 0) m.ack();
    });
  };
  return { handle, reported: () => reported };
}

/** A way of handling task messages, and how many tasks it has reported. */
interface Variant {
  handle: (m: TaskDelivery) => Promise<void>[];
  reported: () => number;
}

const log = benchLogger();
warmTaskParsers();
const variants: [string, () => Variant][] = [
  [
    'worker task handler',
    () => {
      const deps = handlerDeps(log, names, {
        concurrency: CONCURRENCY,
        processors: { noop: async () => undefined },
      });
      return {
        handle: (m) => handleTaskMessage(m, deps),
        reported: () => deps.stats.completed - deps.stats.refusedReports,
      };
    },
  ],
  ['floor (parse, report, ack)', () => floorHandler(log)],
];
const results = new Map<string, { cpu: number[]; wall: number[] }>();
let from = 0;
for (let run = 0; run <= runs; run++) {
  for (const [name, make] of variants) {
    const payloads = messagesOf(totalTasks, from);
    from += totalTasks;
    const variant = make();
    // BENCH_ALLOC_PROFILE=<dir>: what each variant allocates, over its last run.
    const allocDir = process.env['BENCH_ALLOC_PROFILE'];
    const sampling: AllocSampling | undefined =
      allocDir && run === runs
        ? await startAllocSampling(allocDir, name.replace(/\W+/g, '-'))
        : undefined;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(payloads, variant.handle);
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    if (variant.reported() !== totalTasks)
      throw new Error(`${name}: ${variant.reported()} of ${totalTasks} tasks reported`);
    if (sampling) console.log(`allocation profile: ${await sampling.stop()}`);
    if (run === 0) continue; // a warm-up round for each
    const r = results.get(name) ?? { cpu: [], wall: [] };
    r.cpu.push((c.user + c.system) / totalTasks);
    r.wall.push((wall * 1000) / totalTasks);
    results.set(name, r);
  }
}
console.log(`${totalTasks} tasks per run, ${perMessage} per message, medians of ${runs} runs:`);
const floor = median(results.get('floor (parse, report, ack)')?.cpu ?? []);
for (const [name, r] of results) {
  const cpu = median(r.cpu);
  console.log(
    `  ${name.padEnd(28)} CPU ${cpu.toFixed(2)} µs/task (${r.cpu.map((x) => x.toFixed(1)).join(', ')}), wall ${median(r.wall).toFixed(2)} µs/task, ${(cpu / floor).toFixed(2)}× the floor`,
  );
}
