import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/services/commands/client.js';
import { useNats } from '../support/nats.js';
import { allEvents, ofType, useServerAndWorker, watch } from './helpers.js';

const nats = useNats();
const BASE_MS = 500;
const PER_TICK_MS = 25;
const JOBS = 40;

describe('a crowd of ticks at one instant, on a real nats-server', () => {
  const env = useServerAndWorker(
    nats,
    { noop: async () => undefined },
    { fireAheadMs: BASE_MS, fireAheadPerTickMs: PER_TICK_MS },
  );

  it('is fired over the time before the tick, each job earlier than the one planned before it, and every run starts at the tick', async () => {
    const view = await watch(env.rt);
    try {
      const at = Math.ceil((Date.now() + 5000) / 1000) * 1000;
      const client = createClient(env.rt);
      await Promise.all(
        Array.from({ length: JOBS }, (_, i) =>
          client.send('RegisterJob', {
            spec: {
              name: `crowd-${i}`,
              processor: 'noop',
              schedule: { at: new Date(at).toISOString() },
            },
          }),
        ),
      );
      const runs = () => [...view.state.instances.values()];
      await view.waitUntil(
        () => runs().length === JOBS && runs().every((i) => i.status === 'succeeded'),
        15_000,
      );

      const fires = ofType(await allEvents(env.rt), 'JobFired');
      expect(fires).toHaveLength(JOBS);
      expect(fires.every((f) => f.data.fireTimeMs === at)).toBe(true);
      // How long before the tick each fire was recorded: from the base lead (the first planned)
      // to the base plus 39 × 25 ms (the last), less the time the scheduler takes to get to it.
      const leads = fires.map((f) => f.data.fireTimeMs - f.atMs).sort((a, b) => a - b);
      expect(leads[0]).toBeGreaterThan(BASE_MS - 300);
      expect(leads.at(-1)).toBeLessThanOrEqual(BASE_MS + (JOBS - 1) * PER_TICK_MS);
      expect(leads.filter((ms) => ms > BASE_MS + 500).length).toBeGreaterThanOrEqual(10);
      for (const inst of runs()) expect(inst.startedAtMs).toBeGreaterThanOrEqual(at);
    } finally {
      await view.stop();
    }
  });
});
