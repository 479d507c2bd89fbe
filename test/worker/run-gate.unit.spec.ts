import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRunGate, MAX_WAIT_FOR_FIRE_TIME_MS } from '../../src/services/worker/run-gate.js';

const clock = { now: () => Date.now() };

describe('run gate', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('lets a task whose fire time has passed through at once', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    await expect(gate.untilDue(Date.now() - 5)).resolves.toBe(true);
    expect(gate.waiting).toBe(0);
  });

  it('holds a task until its fire time, counting it as waiting meanwhile', async () => {
    const onWaiting = vi.fn();
    const gate = createRunGate({ concurrency: 1, clock, onWaiting });
    let due: boolean | undefined;
    void gate.untilDue(Date.now() + 500).then((d) => (due = d));
    expect(gate.waiting).toBe(1);
    expect(onWaiting).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(due).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toBe(true);
    expect(gate.waiting).toBe(0);
  });

  it('holds a task no longer than the cap, whatever its fire time says', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    let due: boolean | undefined;
    void gate.untilDue(Date.now() + 10 * MAX_WAIT_FOR_FIRE_TIME_MS).then((d) => (due = d));
    await vi.advanceTimersByTimeAsync(MAX_WAIT_FOR_FIRE_TIME_MS);
    expect(due).toBe(true);
  });

  it('ends every wait with false when closed, and every later one at once', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    const waits = [gate.untilDue(Date.now() + 100), gate.untilDue(Date.now() + 200)];
    gate.close();
    await expect(Promise.all(waits)).resolves.toEqual([false, false]);
    await expect(gate.untilDue(Date.now() + 100)).resolves.toBe(false);
    expect(gate.waiting).toBe(0);
  });

  it('runs at most `concurrency` at once and hands freed slots out in order', async () => {
    const gate = createRunGate({ concurrency: 2, clock });
    const order: string[] = [];
    await gate.acquire();
    await gate.acquire();
    void gate.acquire().then(() => order.push('third'));
    void gate.acquire().then(() => order.push('fourth'));
    await vi.advanceTimersByTimeAsync(0);
    expect(gate.running).toBe(2);
    expect(order).toEqual([]);
    gate.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['third']);
    gate.release();
    gate.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['third', 'fourth']);
    expect(gate.running).toBe(1);
  });
});
