/** The metrics endpoint alone: where it cannot listen, it says so with a typed error. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  MetricsListenError,
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
