import type { Registry } from 'prom-client';
import type { Scheduler } from '../scheduler/scheduler.js';
import { collected } from './collected.js';

/** A scheduler replica's counters and partitions, as `jetsched_scheduler_*` metrics. */
export function registerSchedulerMetrics(registry: Registry, scheduler: Scheduler): void {
  const m = collected(registry);
  m.counter(
    'jetsched_scheduler_fires_total',
    'Fires this replica appended (JobFired, one per fire of a batch).',
    () => scheduler.stats().fires,
  );
  m.counter(
    'jetsched_scheduler_dispatches_total',
    'Attempts this replica dispatched to workers.',
    () => scheduler.stats().dispatches,
  );
  m.counter(
    'jetsched_scheduler_sequence_conflicts_total',
    'Appends refused because the aggregate had moved on (another writer or a stale view); decided again after the fold caught up.',
    () => scheduler.stats().conflicts,
  );
  m.counter(
    'jetsched_scheduler_errors_total',
    'Scheduler steps and task publishes that failed; each is retried.',
    () => scheduler.stats().errors,
  );
  m.gauge(
    'jetsched_scheduler_agenda_entries',
    'Jobs and instances with a time at which they next need attention.',
    () => scheduler.stats().agenda,
  );
  m.gauge(
    'jetsched_scheduler_partitions_owned',
    'Partitions whose lease this replica holds.',
    () => scheduler.partitions().length,
  );
  m.gauge(
    'jetsched_scheduler_partitions_ready',
    'Owned partitions folded up to the stream and being scheduled.',
    () => scheduler.partitions().filter((p) => p.ready).length,
  );
  m.gaugeBy(
    'jetsched_scheduler_partition_folded_seq',
    'The stream sequence up to which an owned partition is folded.',
    'partition',
    () => scheduler.partitions().map((p) => [String(p.partition), p.seq]),
  );
}
