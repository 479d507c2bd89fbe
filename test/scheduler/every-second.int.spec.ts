import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import { TERMINAL_INSTANCE_EVENTS } from '../../src/events/instance-events.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { allEvents, ofType, percentile, silent, watch } from './helpers.js';

const JOBS = 200;
const RUN_MS = 30_000;
const nats = useNats();

describe('200 jobs firing every second for 30 s, one scheduler, two workers', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => rt?.close());

  it('fires every expected tick exactly once and ends every instance exactly once', async () => {
    const server = await startServer({ runtime: rt, schedulerId: 'sched-load', log: silent });
    const workers = await Promise.all(
      ['w-a', 'w-b'].map(async (id) => {
        const w = createWorker({
          runtime: rt,
          group: 'load',
          processors: { noop: async () => undefined },
          workerId: id,
          concurrency: 64,
          log: silent,
        });
        await w.start();
        return w;
      }),
    );
    const client = createClient(rt);
    // Each step is bounded and logged, so that a step that never ends fails by its name (a
    // clean-clone CI run once timed this test out at 120 s without saying where).
    const t0 = Date.now();
    const step = async <T>(what: string, ms: number, p: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
      });
      try {
        return await Promise.race([p, limit]);
      } finally {
        clearTimeout(timer);
        console.log(`[every-second] +${Date.now() - t0} ms: ${what}`);
      }
    };
    const registered = new Map<string, number>();
    await step(
      `registering ${JOBS} jobs`,
      30_000,
      (async () => {
        for (let i = 0; i < JOBS; i++) {
          const name = `tick-${i}`;
          const { appended } = await client.send('RegisterJob', {
            spec: { name, group: 'load', processor: 'noop', schedule: { every: '1s' } },
          });
          registered.set(name, appended[0]!.seq);
        }
      })(),
    );
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, RUN_MS));
    await step('pause all', 15_000, client.send('PauseJob', { all: true }));
    const pausedAt = Date.now();

    // Wait (on events, not time) until every fired instance has ended.
    const view = await step('watch', 15_000, watch(rt));
    await view.waitUntil((s) => s.undispatched.size === 0 && s.active.size === 0, 30_000);
    await step('watch stopped', 10_000, view.stop());
    for (const w of workers)
      await step(`drain of ${w.workerId} (running ${w.running()})`, 15_000, w.drain());
    await step('server stop', 15_000, server.stop());

    const events = await allEvents(rt);
    const defined = new Map(
      ofType(events, 'JobDefined').map((e) => [e.data.jobId, e.data.createdAtMs]),
    );
    const fires = ofType(events, 'JobFired');
    const pausedAtOf = new Map(ofType(events, 'JobPaused').map((e) => [e.data.jobId, e.atMs]));

    // Exactly once per (job, fireTime).
    const keys = fires.map((f) => `${f.data.jobId}@${f.data.fireTimeMs}`);
    expect(new Set(keys).size).toBe(keys.length);

    // Every tick due well before the pause fired: ticks are anchor + k·1s for k ≥ 1, gap-free.
    let expectedTotal = 0;
    for (const [jobId, anchor] of defined) {
      const got = fires
        .filter((f) => f.data.jobId === jobId)
        .map((f) => f.data.fireTimeMs)
        .sort((a, b) => a - b);
      // A tick due a second before the job's pause was recorded must have fired.
      const dueBefore = (pausedAtOf.get(jobId) ?? pausedAt) - 1000;
      const expected = [];
      for (let t = anchor + 1000; t <= dueBefore; t += 1000) expected.push(t);
      expectedTotal += expected.length;
      expect(got.slice(0, expected.length), `ticks of ${jobId}`).toEqual(expected);
    }
    expect(expectedTotal).toBeGreaterThanOrEqual(JOBS * (RUN_MS / 1000 - 3));

    // Each fired instance reaches exactly one terminal state.
    const terminal = new Map<string, number>();
    for (const e of events) {
      if ((TERMINAL_INSTANCE_EVENTS as readonly string[]).includes(e.event.type)) {
        const id = (e.event.data as { instanceId: string }).instanceId;
        terminal.set(id, (terminal.get(id) ?? 0) + 1);
      }
    }
    for (const f of fires) expect(terminal.get(f.data.instanceId), f.data.instanceId).toBe(1);
    expect(terminal.size).toBe(fires.length);

    // When the fire was recorded (ahead of the tick, by default), and when a worker started it.
    const fireLate = fires.map((f) => f.atMs - f.data.fireTimeMs).sort((a, b) => a - b);
    const fireTime = new Map(fires.map((f) => [f.data.instanceId, f.data.fireTimeMs]));
    const startLate = ofType(events, 'InstanceStarted')
      .map((s) => s.atMs - (fireTime.get(s.data.instanceId) ?? s.atMs))
      .sort((a, b) => a - b);
    const line = (name: string, xs: number[]) =>
      `${name}: p50 ${percentile(xs, 50)} ms, p99 ${percentile(xs, 99)} ms, max ${xs.at(-1)} ms (n=${xs.length})`;
    console.log(
      `[every-second] ${fires.length} fires of ${JOBS} jobs over ${Math.round((pausedAt - startedAt) / 1000)} s`,
    );
    console.log(`[every-second] fire recorded − tick ${line('', fireLate)}`);
    console.log(`[every-second] start lateness ${line('', startLate)}`);
    expect(percentile(fireLate, 99)).toBeLessThan(1000);
    // Fired ahead or not, no worker starts an instance before its tick.
    expect(startLate[0]).toBeGreaterThanOrEqual(0);
  }, 120_000);
});
