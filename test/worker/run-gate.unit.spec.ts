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

  it('lets tasks due at the same instant through together: each takes its next step before any takes a second', async () => {
    const gate = createRunGate({ concurrency: 10, clock });
    const steps: string[] = [];
    const task = async (name: string) => {
      if (!(await gate.untilDue(Date.now() + 100))) return;
      steps.push(`${name} due`);
      await Promise.resolve();
      steps.push(`${name} next`);
    };
    void task('a');
    void task('b');
    await vi.advanceTimersByTimeAsync(100);
    expect(steps).toEqual(['a due', 'b due', 'a next', 'b next']);
  });

  it('keeps a wait that stays open through close, and ends it when its holder does', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    const open = gate.untilDue(Date.now() + 100, { stayOpen: true });
    const calls: boolean[] = [];
    const end = gate.whenDue(Date.now() + 100, (due) => calls.push(due), { stayOpen: true });
    gate.close();
    expect(gate.waiting).toBe(2);
    end();
    expect(calls).toEqual([false]);
    expect(gate.waiting).toBe(1);
    await expect(gate.untilDue(Date.now() + 100)).resolves.toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    await expect(open).resolves.toBe(true);
    expect(gate.waiting).toBe(0);
  });

  it('ends a wait with false through the function it returns, once, and not one that has ended', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    const calls: boolean[] = [];
    const end = gate.whenDue(Date.now() + 100, (due) => calls.push(due), { stayOpen: true });
    end();
    end();
    expect(calls).toEqual([false]);
    expect(gate.waiting).toBe(0);
    const endLater = gate.whenDue(Date.now() + 100, (due) => calls.push(due));
    await vi.advanceTimersByTimeAsync(100);
    endLater();
    expect(calls).toEqual([false, true]);
  });

  it('hands slots out in order to a long queue', async () => {
    const gate = createRunGate({ concurrency: 1, clock });
    await gate.acquire();
    const order: number[] = [];
    for (let i = 0; i < 5; i++) void gate.acquire().then(() => order.push(i));
    for (let i = 0; i < 5; i++) {
      gate.release();
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(gate.running).toBe(1);
    gate.release();
    expect(gate.running).toBe(0);
  });

  describe('callbacks, for a tick shared by thousands of tasks', () => {
    it('calls every task due at an instant from the timer itself, in order, before any microtask', async () => {
      const gate = createRunGate({ concurrency: 10, clock });
      const steps: string[] = [];
      for (const name of ['a', 'b', 'c'])
        gate.whenDue(Date.now() + 100, (due) => {
          steps.push(`${name} ${due}`);
          void Promise.resolve().then(() => steps.push(`${name} microtask`));
        });
      expect(gate.waiting).toBe(3);
      await vi.advanceTimersByTimeAsync(99);
      expect(steps).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(steps.slice(0, 3)).toEqual(['a true', 'b true', 'c true']);
      expect(gate.waiting).toBe(0);
    });

    it('calls a task at once, in the same call, when its time has passed or a slot is free', () => {
      const gate = createRunGate({ concurrency: 1, clock });
      const calls: string[] = [];
      gate.whenDue(Date.now(), (due) => calls.push(`due ${due}`));
      gate.withSlot(() => calls.push('slot'));
      expect(calls).toEqual(['due true', 'slot']);
      expect(gate.running).toBe(1);
    });

    it('hands freed slots out in a loop, not by recursion, when each holder gives its slot back at once', () => {
      const gate = createRunGate({ concurrency: 1, clock });
      gate.withSlot(() => undefined);
      const ran: number[] = [];
      let depth = 0;
      let deepest = 0;
      const count = 50_000;
      for (let i = 0; i < count; i++)
        gate.withSlot(() => {
          depth++;
          deepest = Math.max(deepest, depth);
          ran.push(i);
          gate.release(); // a processor that ends in the same call
          depth--;
        });
      gate.release();
      expect(ran).toHaveLength(count);
      expect(ran.slice(0, 3)).toEqual([0, 1, 2]);
      expect(deepest).toBe(1);
      expect(gate.running).toBe(0);
    });

    it('lets the tasks after one that throws through, and rethrows what it threw on its own', async () => {
      const thrown: unknown[] = [];
      const gate = createRunGate({ concurrency: 3, clock });
      const spy = vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((fn) => {
        try {
          fn();
        } catch (err) {
          thrown.push(err);
        }
      });
      try {
        const due: string[] = [];
        gate.whenDue(Date.now() + 100, () => {
          throw new Error('processor blew up');
        });
        gate.whenDue(Date.now() + 100, () => due.push('after the throw'));
        await vi.advanceTimersByTimeAsync(100);
        expect(due).toEqual(['after the throw']);

        const slotGate = createRunGate({ concurrency: 2, clock });
        slotGate.withSlot(() => undefined);
        slotGate.withSlot(() => undefined);
        const slots: string[] = [];
        // Handed out together: the first gives back its own slot and the other held one.
        slotGate.withSlot(() => {
          slotGate.release();
          slotGate.release();
        });
        slotGate.withSlot(() => {
          throw new Error('slot holder blew up');
        });
        slotGate.withSlot(() => slots.push('after the throw'));
        slotGate.release();
        expect(slots).toEqual(['after the throw']);
      } finally {
        spy.mockRestore();
      }
      expect(thrown.map((e) => (e as Error).message)).toEqual([
        'processor blew up',
        'slot holder blew up',
      ]);
    });
  });
});
