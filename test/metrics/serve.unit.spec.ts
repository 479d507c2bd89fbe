/**
 * The metrics endpoint alone: where it cannot listen, it says so with a typed error; and the start
 * lateness a worker reports, observed for first attempts only.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  MetricsListenError,
  observeStartLateness,
  processRegistry,
  serveMetrics,
} from '../../src/services/metrics/index.js';

const log = pino({ level: 'silent' });

describe('serveMetrics()', () => {
  it('refuses a port already taken with METRICS_LISTEN, naming the address', async () => {
    const first = await serveMetrics(processRegistry({ role: 'worker', member: 'a' }), {
      host: '127.0.0.1',
      port: 0,
      log,
    });
    try {
      const port = Number(new URL(first.url).port);
      const second = serveMetrics(processRegistry({ role: 'worker', member: 'b' }), {
        host: '127.0.0.1',
        port,
        log,
      });
      await expect(second).rejects.toBeInstanceOf(MetricsListenError);
      await expect(second).rejects.toMatchObject({
        code: 'METRICS_LISTEN',
        message: `the metrics endpoint cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
      });
      // The first one still answers.
      expect((await fetch(first.url)).status).toBe(200);
    } finally {
      await first.close();
    }
  });
});

describe('observeStartLateness()', () => {
  it('observes first attempts only, in seconds after their fire time', async () => {
    const registry = processRegistry();
    const observe = observeStartLateness(registry);
    const run = { jobId: 'j', instanceId: 'j~1', fireTimeMs: 1_000 };
    observe({ ...run, attempt: 1, beganAtMs: 1_250 });
    observe({ ...run, attempt: 2, beganAtMs: 31_000 }); // a retry, after its backoff
    const text = await registry.metrics();
    expect(text).toContain('jetsched_worker_start_lateness_seconds_count 1\n');
    expect(text).toContain('jetsched_worker_start_lateness_seconds_sum 0.25\n');
    expect(text).toContain('jetsched_worker_start_lateness_seconds_bucket{le="0.1"} 0\n');
    expect(text).toContain('jetsched_worker_start_lateness_seconds_bucket{le="0.25"} 1\n');
  });
});
