import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createScheduler, type Scheduler } from '../../src/services/scheduler/scheduler.js';
import type { Ownership } from '../../src/services/scheduler/ownership.js';
import type { EventStore } from '../../src/events/event-store.js';
import { subjects } from '../../src/events/subjects.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from './helpers.js';
import { gate } from '../worker/helpers.js';

const nats = useNats();

/** Ownership a test hands over: the partitions it names, from the moment it names them. */
function handedOwnership(): Ownership & { hand(partitions: number[]): void } {
  let owned = new Set<number>();
  const listeners = new Set<(owned: ReadonlySet<number>) => void>();
  return {
    owned: () => owned,
    holds: (p) => owned.has(p),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start: async () => undefined,
    stop: async () => undefined,
    hand(partitions) {
      owned = new Set(partitions);
      for (const listener of listeners) listener(owned);
    },
  };
}

/**
 * The event store, except that asking where partition `held`'s events end waits until `open()`:
 * a takeover of that partition stays in its catch-up for as long as the test likes.
 */
function heldStore(rt: Runtime, held: number) {
  const asked = gate();
  const released = gate();
  const store: EventStore = {
    ...rt.store,
    lastSeq: async (subject) => {
      if (subject === subjects.partition(rt.names, held)) {
        asked.open();
        await released.promise;
      }
      return rt.store.lastSeq(subject);
    },
  };
  return { store, asked: asked.promise, open: () => released.open() };
}

/** The partitions the scheduler folds, and which of them have caught up. */
const folded = (s: Scheduler) =>
  s
    .partitions()
    .map((p) => `${p.partition}${p.ready ? '' : ' (taking over)'}`)
    .sort();

/** Resolves once `test` holds for the scheduler's partitions (checked at each change of its folds). */
function once(s: Scheduler, what: string, test: (partitions: string[]) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const giveUp = setTimeout(
      () => reject(new Error(`not ${what} within 10 s: ${folded(s).join(', ')}`)),
      10_000,
    );
    const check = () => {
      if (!test(folded(s))) return;
      clearTimeout(giveUp);
      resolve();
    };
    s.folds.onChange(check);
    check();
  });
}

describe('a scheduler takes each partition it gains over on its own', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => {
    await rt.close();
  });

  function start(held: number) {
    const ownership = handedOwnership();
    const gated = heldStore(rt, held);
    const scheduler = createScheduler({
      runtime: { ...rt, store: gated.store },
      ownership,
      schedulerId: 'takeover-spec',
      log: silent,
    });
    return { scheduler, ownership, ...gated };
  }

  it('has a partition gained while another is still catching up ready without waiting for it', async () => {
    const { scheduler, ownership, asked, open } = start(0);
    await scheduler.start();
    ownership.hand([0]);
    await asked;
    ownership.hand([0, 1]);
    await once(scheduler, 'partition 1 ready', (ps) => ps.includes('1'));
    expect(folded(scheduler)).toEqual(['0 (taking over)', '1']);

    open();
    await once(scheduler, 'partition 0 ready', (ps) => ps.includes('0'));
    expect(folded(scheduler)).toEqual(['0', '1']);
    await scheduler.stop();
  });

  it('lets go at once of a partition lost while it was still being taken over', async () => {
    const { scheduler, ownership, asked, open } = start(2);
    await scheduler.start();
    ownership.hand([2, 3]);
    await asked;
    await once(scheduler, 'partition 3 ready', (ps) => ps.includes('3'));
    ownership.hand([3]);
    await once(scheduler, 'partition 2 let go', (ps) => !ps.some((p) => p.startsWith('2')));
    expect(folded(scheduler)).toEqual(['3']);

    // The abandoned takeover ends once its read returns, and never makes the partition ready.
    open();
    await scheduler.stop();
    expect(folded(scheduler)).toEqual([]);
  });
});
