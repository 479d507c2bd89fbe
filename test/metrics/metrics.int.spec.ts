/**
 * A scheduler and a worker serve Prometheus metrics: their own counters, read at scrape time, and
 * Node's, each labelled with the role and the member's id; `/healthz` answers while they run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import {
  observeStartLateness,
  processRegistry,
  registerSchedulerMetrics,
  registerWorkerMetrics,
  serveMetrics,
  type MetricsEndpoint,
} from '../../src/services/metrics/index.js';
import { useNats, uniquePrefix, waitFor } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();

/** The samples of a scrape: `name{labels}` → value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

describe('the metrics endpoints of a scheduler and a worker', () => {
  let rt: Runtime;
  const stops: (() => Promise<void>)[] = [];
  let schedulerMetrics: MetricsEndpoint;
  let workerMetrics: MetricsEndpoint;
  const S = '{role="scheduler",member="sched-m"}';
  const W = '{role="worker",member="w-m"}';

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const server = await startServer({ runtime: rt, schedulerId: 'sched-m', log: silent });
    stops.push(() => server.stop());
    const forWorker = processRegistry({ role: 'worker', member: 'w-m' });
    const worker = createWorker({
      runtime: rt,
      group: 'default',
      processors: { ok: async () => 'done' },
      workerId: 'w-m',
      concurrency: 8,
      onRunBegan: observeStartLateness(forWorker),
      log: silent,
    });
    await worker.start();
    stops.push(() => worker.stop());

    const forScheduler = processRegistry({ role: 'scheduler', member: 'sched-m' });
    registerSchedulerMetrics(forScheduler, server.scheduler);
    schedulerMetrics = await serveMetrics(forScheduler, {
      host: '127.0.0.1',
      port: 0,
      log: silent,
    });
    stops.push(() => schedulerMetrics.close());
    registerWorkerMetrics(forWorker, worker, 8);
    workerMetrics = await serveMetrics(forWorker, { host: '127.0.0.1', port: 0, log: silent });
    stops.push(() => workerMetrics.close());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await rt?.close();
  });

  it('count the fires, dispatches and completed attempts of triggered runs', async () => {
    const client = createClient(rt);
    await client.send('RegisterJob', {
      spec: { name: 'counted', processor: 'ok', schedule: { manual: true } },
    });
    const before = await scrape(schedulerMetrics.url);
    expect(before.get(`jetsched_scheduler_fires_total${S}`)).toBe(0);
    for (const t of ['t1', 't2', 't3'])
      await client.send('TriggerJob', { jobId: 'counted', triggerId: t });

    const done = await waitFor(
      async () => {
        const s = await scrape(workerMetrics.url);
        return (s.get(`jetsched_worker_attempts_completed_total${W}`) ?? 0) >= 3 && s;
      },
      { what: 'the worker to count 3 completed attempts', timeoutMs: 15_000 },
    );
    expect(done.get(`jetsched_worker_attempts_completed_total${W}`)).toBe(3);
    expect(done.get(`jetsched_worker_concurrency${W}`)).toBe(8);
    expect(done.get(`jetsched_worker_tasks_malformed_total${W}`)).toBe(0);
    expect(done.has(`process_cpu_user_seconds_total${W}`)).toBe(true);
    // Each run began after its trigger's time, and soon after.
    expect(done.get(`jetsched_worker_start_lateness_seconds_count${W}`)).toBe(3);
    const lateness = done.get(`jetsched_worker_start_lateness_seconds_sum${W}`) ?? -1;
    expect(lateness).toBeGreaterThanOrEqual(0);
    expect(lateness).toBeLessThan(15);
    expect(
      done.get(
        'jetsched_worker_start_lateness_seconds_bucket{le="+Inf",role="worker",member="w-m"}',
      ),
    ).toBe(3);

    const s = await scrape(schedulerMetrics.url);
    expect(s.get(`jetsched_scheduler_fires_total${S}`)).toBe(3);
    expect(s.get(`jetsched_scheduler_dispatches_total${S}`)).toBe(3);
    expect(s.get(`jetsched_scheduler_sequence_conflicts_total${S}`)).toBe(0);
    expect(s.get(`jetsched_scheduler_partitions_owned${S}`)).toBe(rt.partitions);
    expect(s.get(`jetsched_scheduler_partitions_ready${S}`)).toBe(rt.partitions);
    const folded = [...s.keys()].filter((k) =>
      k.startsWith('jetsched_scheduler_partition_folded_seq{'),
    );
    expect(folded).toHaveLength(rt.partitions);
    expect(Math.max(...folded.map((k) => s.get(k) ?? 0))).toBeGreaterThan(0);
    expect(s.has(`nodejs_eventloop_lag_p99_seconds${S}`)).toBe(true);
  });

  it('answer /healthz, and 404 for anything else', async () => {
    const health = await fetch(schedulerMetrics.url.replace('/metrics', '/healthz'));
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    expect((await fetch(schedulerMetrics.url.replace('/metrics', '/'))).status).toBe(404);
    expect((await fetch(schedulerMetrics.url, { method: 'POST' })).status).toBe(404);
  });
});
