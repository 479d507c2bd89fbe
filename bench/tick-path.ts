/**
 * What a worker does at a tick, without NATS: `tasks` tasks handed out ahead of one fire time (as
 * the scheduler hands out a cron tick's tasks with its default lead) go through the worker's task
 * handler (messages of 25, as they come), wait for their time in the run gate, and start together;
 * the real event store takes the reports, answered in the next turn. Per tick: how late the first
 * processor call was after the fire time, and how long after it the last one came (what a tick of
 * that many tasks costs one worker). Medians over `ticks`, after 2 warm-up ticks.
 * Usage: node dist/bench/tick-path.js [tasks=5000] [ticks=10]
 */
import { names as makeNames } from '../src/events/subjects.js';
import { taskMessageFor, type TaskMessage } from '../src/events/task.js';
import { handleTaskMessage, warmTaskParsers } from '../src/services/worker/task-handler.js';
import { handlerDeps, taskDelivery } from './lib/handler-harness.js';
import { benchLogger } from './lib/nats.js';
import { median } from './lib/stats.js';

const tasksPerTick = Number(process.argv[2] ?? 5000);
const ticks = Number(process.argv[3] ?? 10);
const PER_MESSAGE = 25;
/** The tasks come this long before their fire time (well inside the scheduler's default lead). */
const AHEAD_MS = 400;
const WARM_UP = 2;
const names = makeNames('tick');

/** When each processor was called, in `performance.now()` time; reset for every tick. */
let calls: number[] = [];
const deps = handlerDeps(benchLogger(), names, {
  concurrency: 64,
  processors: {
    noop: () => {
      calls.push(performance.now());
      return Promise.resolve();
    },
  },
});
deps.room = () => Number.POSITIVE_INFINITY; // every task of the tick is this worker's
warmTaskParsers();

const late: number[] = [];
const spread: number[] = [];
for (let tick = 0; tick < WARM_UP + ticks; tick++) {
  calls = [];
  const fireTimeMs = Date.now() + AHEAD_MS;
  const handled: Promise<void>[] = [];
  for (let i = 0; i < tasksPerTick; i += PER_MESSAGE) {
    const tasks: TaskMessage[] = [];
    for (let n = i; n < Math.min(tasksPerTick, i + PER_MESSAGE); n++)
      tasks.push({
        v: 1,
        instanceId: `job-${n}~${fireTimeMs}`,
        jobId: `job-${n}`,
        partition: n % 16,
        attempt: 1,
        processor: 'noop',
        params: {},
        fireTimeMs,
        priority: 0,
        dispatchSeq: 0,
        dispatchedAtMs: Date.now(),
      });
    handled.push(...handleTaskMessage(taskDelivery(names, taskMessageFor(tasks).payload, i), deps));
  }
  // The fire time in this process's clock, to compare with the processor calls.
  const dueAt = performance.now() + (fireTimeMs - Date.now());
  await Promise.all(handled);
  if (calls.length !== tasksPerTick)
    throw new Error(`tick ${tick}: ${calls.length} of ${tasksPerTick} processors called`);
  const first = Math.min(...calls);
  const last = Math.max(...calls);
  if (tick < WARM_UP) continue;
  late.push(first - dueAt);
  spread.push(last - first);
}
const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
console.log(`${tasksPerTick} tasks per tick, medians of ${ticks} ticks:`);
console.log(
  `  first processor call after the fire time ${median(late).toFixed(1)} ms (${list(late)})`,
);
console.log(`  first to last processor call ${median(spread).toFixed(1)} ms (${list(spread)})`);
