import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { makeEvent, subjects } from '../../src/events/index.js';
import {
  createEventStore,
  ReplayStalledError,
  type EventStore,
  type RawStoredEvent,
  type ReplayOptions,
} from '../../src/events/event-store.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { rebuild } from '../../src/projections/runner.js';
import { scheduleProjection } from '../../src/projections/projection.js';
import {
  createThreadReader,
  type ThreadReaderOptions,
} from '../../src/services/reader-thread/spawn.js';
import type { ReadStats } from '../../src/services/reader-thread/chunk.js';
import { ensureBuilt, PROJECT_ROOT } from '../fault/processes.js';
import { uniquePrefix, useNats } from '../support/nats.js';

/** The thread runs compiled code: its entry under dist/, built when the sources are newer. */
const ENTRY = pathToFileURL(join(PROJECT_ROOT, 'dist/src/services/reader-thread/thread.js'));
const nats = useNats();
const ctx = { actor: { kind: 'client' as const, id: 'reader-spec' }, nowMs: Date.now() };

describe('a long read in a reader thread', () => {
  let rt: Runtime;
  let threaded: EventStore;
  const all: number[] = [];

  beforeAll(async () => {
    ensureBuilt();
    rt = await openRuntime({
      nats: { servers: nats.url },
      prefix: uniquePrefix(),
      log: pino({ level: 'silent' }),
    });
    const readInThread = createThreadReader({ servers: nats.url }, { entry: ENTRY });
    if (!readInThread) throw new Error(`no compiled reader thread at ${ENTRY.href}`);
    threaded = createEventStore({ ...rt, readInThread, threadMinRange: 1 });
    // 6,000 events over 60 jobs, one with non-ASCII params, and a message that is not an event.
    for (let batch = 0; batch < 12; batch++) {
      const acks = await Promise.all(
        Array.from({ length: 500 }, (_, i) => {
          const n = batch * 500 + i;
          const jobId = `job-${n % 60}`;
          const params = n === 777 ? { greeting: 'grüße, 日本, 🚀' } : { n };
          const event = makeEvent(
            'JobTriggerRequested',
            { jobId, triggerId: `t-${n}`, dueAtMs: n, reason: 'manual', params },
            ctx,
          );
          return rt.store.append(subjects.job(rt.names, n % 16, jobId), event);
        }),
      );
      all.push(...acks.map((a) => a.seq));
      if (batch === 5) {
        const garbage = subjects.job(rt.names, 3, 'garbage');
        all.push((await rt.js.publish(garbage, 'not an event', { headers: headers() })).seq);
      }
    }
  }, 120_000);
  afterAll(async () => rt?.close());

  /** A store that reads in a thread from `threadMinRange` events, and what each thread read did. */
  function countedStore(threadMinRange: number, limits?: ThreadReaderOptions['limits']) {
    const reads: ReadStats[] = [];
    const readInThread = createThreadReader(
      { servers: nats.url },
      { entry: ENTRY, ...(limits && { limits }), onRead: (s) => reads.push(s) },
    )!;
    return { reads, store: createEventStore({ ...rt, readInThread, threadMinRange }) };
  }

  async function scanned(store: EventStore, opts: ReplayOptions): Promise<RawStoredEvent[]> {
    const out: RawStoredEvent[] = [];
    await store.scan(opts, (raw) => out.push(raw));
    return out;
  }

  it('visits what the calling thread reads: same sequences, subjects, times and decoded events', async () => {
    const here = await scanned(rt.store, {});
    const there = await scanned(threaded, { inThread: true });
    expect(there.map((r) => r.seq)).toEqual(all);
    expect(there).toEqual(here);
    const greeting = there.find(
      (r) =>
        r.decoded.ok &&
        r.decoded.event.type === 'JobTriggerRequested' &&
        r.decoded.event.data.triggerId === 't-777',
    );
    expect(greeting?.decoded.ok && greeting.decoded.event.data).toMatchObject({
      params: { greeting: 'grüße, 日本, 🚀' },
    });
    expect(
      there.filter((r) => !r.decoded.ok).map((r) => !r.decoded.ok && r.decoded.reason),
    ).toEqual(['not-json']);
  });

  it('is how rebuild() reads: the same state, sequence and skipped count as one thread folds', async () => {
    const here = await rebuild(rt.store, scheduleProjection);
    const { reads, store } = countedStore(1);
    const there = await rebuild(store, scheduleProjection);
    expect(reads).toHaveLength(1);
    expect({ seq: there.seq, skipped: there.skipped }).toEqual({ seq: all.at(-1), skipped: 1 });
    expect({ seq: here.seq, skipped: here.skipped }).toEqual({ seq: there.seq, skipped: 1 });
    expect(scheduleProjection.toSnapshot(there.state)).toEqual(
      scheduleProjection.toSnapshot(here.state),
    );
  });

  it('reads a filtered range from a sequence to a sequence', async () => {
    const opts: ReplayOptions = {
      filterSubjects: [subjects.partition(rt.names, 5)],
      fromSeq: all[100]!,
      toSeq: all[5000]!,
    };
    const there = await scanned(threaded, { ...opts, inThread: true });
    expect(there.length).toBeGreaterThan(250); // a sixteenth of 4,900
    expect(there).toEqual(await scanned(rt.store, opts));
  });

  it('reads in this thread a filtered range that spans many sequences but holds few events', async () => {
    const { reads, store } = countedStore(1000);
    const partitions = (ps: number[]) => ps.map((p) => subjects.partition(rt.names, p));
    // From the 101st event on: about 5,900 sequences, of which partition 5 holds a sixteenth.
    const one: ReplayOptions = { filterSubjects: partitions([5]), fromSeq: all[100]! };
    const read = await scanned(store, { ...one, inThread: true });
    expect(reads).toHaveLength(0);
    expect(read.length).toBeLessThan(1000);
    expect(read).toEqual(await scanned(rt.store, one));
    // Half of the partitions hold enough for a thread.
    const half: ReplayOptions = { ...one, filterSubjects: partitions([0, 1, 2, 3, 4, 5, 6, 7]) };
    const there = await scanned(store, { ...half, inThread: true });
    expect(reads).toHaveLength(1);
    expect(there.length).toBeGreaterThanOrEqual(1000);
    expect(there).toEqual(await scanned(rt.store, half));
  });

  it('holds the server back while its chunks wait for a slow visitor, and loses nothing', async () => {
    const { reads, store } = countedStore(1, { messages: 50, waiting: 2 });
    const seen: number[] = [];
    await store.scan({ inThread: true }, (raw) => {
      seen.push(raw.seq);
      if (seen.length % 500 === 0) {
        const until = Date.now() + 50; // a fold that blocks this thread now and then
        while (Date.now() < until);
      }
    });
    expect(seen).toEqual(all);
    expect(reads).toHaveLength(1);
    expect(reads[0]!.chunks).toBeGreaterThanOrEqual(all.length / 50);
    expect(reads[0]!.heldAnswers).toBeGreaterThan(0);
  });

  it('rejects with what the visitor threw', async () => {
    let visited = 0;
    const scan = threaded.scan({ inThread: true }, () => {
      if (++visited === 2500) throw new Error('fold failed');
    });
    await expect(scan).rejects.toThrow('fold failed');
    expect(visited).toBe(2500);
  });

  it('replaces a silent consumer, says so, and gives up on a range nothing is delivered from', async () => {
    const readInThread = createThreadReader({ servers: nats.url }, { entry: ENTRY })!;
    const resets: { why: string; atSeq: number }[] = [];
    const silent = readInThread(
      {
        stream: rt.names.eventStream,
        filters: [`${rt.names.prefix}.evt.none`],
        fromSeq: 1,
        end: all.at(-1)!,
        stallMs: 200,
        resumes: 1,
      },
      () => {},
      { onReset: (why, atSeq) => resets.push({ why, atSeq }) },
    );
    const err: unknown = await silent.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplayStalledError);
    expect(err).toMatchObject({ atSeq: 1, lastReason: 'nothing for 200 ms' });
    expect(resets).toEqual([{ why: 'nothing for 200 ms', atSeq: 1 }]); // the first, replaced
  });
});
