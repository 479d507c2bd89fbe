import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import type { RunBegan, Worker } from '../worker/types.js';
import { collected } from './collected.js';

/** A worker's counters and load, as `jetsched_worker_*` metrics. */
export function registerWorkerMetrics(
  registry: Registry,
  worker: Pick<Worker, 'stats' | 'running'>,
  concurrency: number,
): void {
  const m = collected(registry);
  const stat = (read: (s: ReturnType<Worker['stats']>) => number) => () => read(worker.stats());
  m.counter(
    'jetsched_worker_attempts_completed_total',
    'Attempts run to a report (recorded or refused).',
    stat((s) => s.completed),
  );
  m.counter(
    'jetsched_worker_tasks_malformed_total',
    'Task messages that did not fit the task schema; terminated.',
    stat((s) => s.malformed),
  );
  m.counter(
    'jetsched_worker_tasks_skipped_total',
    'Tasks not run because the instance had moved on before they started.',
    stat((s) => s.skipped),
  );
  m.counter(
    'jetsched_worker_tasks_handed_on_total',
    'Tasks of a message of several handed on to the group.',
    stat((s) => s.handedOn),
  );
  m.counter(
    'jetsched_worker_reports_refused_total',
    'Final reports refused because the attempt had ended meanwhile (timeout, cancel, worker lost).',
    stat((s) => s.refusedReports),
  );
  m.counter(
    'jetsched_worker_control_messages_bad_total',
    'Control messages that could not be parsed.',
    stat((s) => s.badControls),
  );
  m.counter(
    'jetsched_worker_log_lines_dropped_total',
    'Instance log lines that could not be published.',
    stat((s) => s.droppedLogLines),
  );
  m.gauge(
    'jetsched_worker_attempts_running',
    'Attempts held now (starting, running or reporting).',
    () => worker.running(),
  );
  m.gauge(
    'jetsched_worker_concurrency',
    'Attempts this worker runs at once, at most.',
    () => concurrency,
  );
}

/** Seconds; from on time to a minute late. */
const LATENESS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * How late first attempts begin: the processor's call minus the instance's intended fire time,
 * as `jetsched_worker_start_lateness_seconds`. Returns the worker's `onRunBegan`. Retries are left
 * out (they begin after their backoff, by design).
 */
export function observeStartLateness(registry: Registry): (run: RunBegan) => void {
  const lateness = new Histogram({
    name: 'jetsched_worker_start_lateness_seconds',
    help: "First attempts: when the processor was called minus the instance's intended fire time.",
    buckets: LATENESS_BUCKETS,
    registers: [registry],
  });
  return (run) => {
    if (run.attempt === 1) lateness.observe((run.beganAtMs - run.fireTimeMs) / 1000);
  };
}
