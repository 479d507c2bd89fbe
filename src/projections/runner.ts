import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventStore, RawStoredEvent } from '../events/event-store.js';
import { toRaw } from '../events/event-store.js';
import type { StoredEvent } from '../events/event.js';
import type { Projection } from './projection.js';
import { restoreSnapshot, type SnapshotStore } from './snapshot-store.js';

export interface RunnerOptions<S> {
  js: JetStreamClient;
  store: EventStore;
  projection: Projection<S>;
  /** Subjects to fold (e.g. one per owned partition); defaults to every event. */
  filterSubjects?: string[];
  log: Logger;
  /** Where snapshots live, and under which key; without it the runner always folds from zero. */
  snapshots?: { store: SnapshotStore; key: string };
  /** Called after each event is folded (e.g. to wake timers). */
  onEvent?: (stored: StoredEvent, state: S) => void;
  /**
   * True for a sequence the owner has already folded into `state` itself (an append it made and
   * applied on its ack): the message is passed over without being decoded or folded again.
   */
  alreadyFolded?: (seq: number) => boolean;
  /** Called for each message that could not be decoded (after it was counted and logged). */
  onSkipped?: (raw: RawStoredEvent) => void;
  clock?: () => number;
  /** Restart the consumer when events exist past the fold and none arrived for this long. Default 5000 ms. */
  stallAfterMs?: number;
  /**
   * While events are known to be stored past the fold (the stream's end when catching up, or what
   * {@link ProjectionRunner.expect} was told), restart a consumer that delivered nothing for this
   * long. A new consumer now and then stays silent; a takeover must not wait for
   * the steady-state watchdog. Default 1000 ms.
   */
  catchUpStallAfterMs?: number;
  /**
   * A start this many sequences or more behind the stream first catches up through the event
   * store's reader (see {@link EventStore.scan}), then follows with its consumer. Default 5,000.
   */
  catchUpByReadFrom?: number;
}

export interface ProjectionRunner<S> {
  readonly state: S;
  /** Last stream sequence folded (or skipped). */
  readonly seq: number;
  /** Messages that could not be decoded and were skipped. */
  readonly skipped: number;
  /**
   * Starts folding; resolves once the fold has caught up with the stream as it was at start, or
   * once {@link stop} is called, whichever comes first.
   */
  start(opts?: { fromSnapshot?: boolean }): Promise<void>;
  /** Resolves when the fold has reached `seq` (or rejects after `timeoutMs`). */
  waitForSeq(seq: number, timeoutMs?: number): Promise<void>;
  /** Resolves when `predicate(state)` holds after some event (or rejects after `timeoutMs`). */
  waitUntil(predicate: (state: S) => boolean, timeoutMs?: number): Promise<void>;
  /**
   * An event at `seq` that the filters match is known to be stored (e.g. the owner's own append,
   * acked). If the consumer has not delivered it after `catchUpStallAfterMs`, it is replaced: a
   * silent consumer is found in about a second instead of by the steady-state watchdog.
   */
  expect(seq: number): void;
  saveSnapshot(): Promise<{ seq: number }>;
  stop(): Promise<void>;
}

interface Waiter<S> {
  test: (seq: number, state: S) => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Thrown into a catch-up read to end it once the runner is stopped. */
const readStopped = new Error('the runner was stopped');

export function createProjectionRunner<S>(opts: RunnerOptions<S>): ProjectionRunner<S> {
  const { js, store, projection, log } = opts;
  const clock = opts.clock ?? Date.now;
  const stallAfterMs = opts.stallAfterMs ?? 5000;
  const catchUpStallAfterMs = Math.min(opts.catchUpStallAfterMs ?? 1000, stallAfterMs);
  const catchUpByReadFrom = opts.catchUpByReadFrom ?? 5000;
  const filters = opts.filterSubjects?.length
    ? opts.filterSubjects
    : [`${store.names.prefix}.evt.>`];
  let state = projection.init();
  let seq = 0;
  let skipped = 0;
  let stopped = false;
  /** When the event stream was made, as first asked (recorded in each snapshot saved). */
  let streamCreated: string | undefined;
  let messages: ConsumerMessages | undefined;
  /** The highest sequence known to be stored past the fold, and since when the fold is behind it. */
  let expected = 0;
  let expectedSince = 0;
  let loop: Promise<void> | undefined;
  const waiters = new Set<Waiter<S>>();

  function expectStored(at: number): void {
    if (at <= seq || at <= expected) return;
    if (expected <= seq) expectedSince = Date.now();
    expected = at;
  }

  function settleWaiters(): void {
    for (const w of waiters) {
      if (w.test(seq, state)) {
        waiters.delete(w);
        w.resolve();
      }
    }
  }

  function fold(raw: RawStoredEvent): void {
    if (raw.decoded.ok) {
      const stored: StoredEvent = {
        seq: raw.seq,
        subject: raw.subject,
        storedAtMs: raw.storedAtMs,
        event: raw.decoded.event,
      };
      state = projection.evolve(state, stored);
      seq = raw.seq;
      opts.onEvent?.(stored, state);
    } else {
      skipped++;
      seq = raw.seq;
      log.warn(
        {
          projection: projection.name,
          seq: raw.seq,
          subject: raw.subject,
          reason: raw.decoded.reason,
          detail: raw.decoded.detail,
        },
        'skipped an event the projection cannot decode',
      );
      opts.onSkipped?.(raw);
    }
  }

  /**
   * Folds what is stored up to `end` through the event store's reader, in a thread of its own for
   * a long range: a takeover or a cold start far behind catches up faster, and with less of
   * nats-server's CPU, than through the consumer that then follows
   * (docs/benchmarks-history.md). A read that fails leaves the rest to that consumer, from where
   * it stopped.
   */
  async function catchUp(end: number): Promise<void> {
    try {
      await store.scan({ filterSubjects: filters, fromSeq: seq + 1, inThread: true }, (raw) => {
        if (stopped) throw readStopped;
        if (raw.seq <= seq) return;
        if (opts.alreadyFolded?.(raw.seq)) seq = raw.seq;
        else fold(raw);
      });
    } catch (err) {
      if (err === readStopped) return;
      log.warn(
        { err, projection: projection.name, seq, end },
        'catching up through a read failed; the consumer goes on from here',
      );
    }
    settleWaiters();
  }

  /**
   * Folds from the stream, forever. JetStream leader changes can leave a consumer silent, so a
   * watchdog restarts it from the last folded sequence when the server reports missed heartbeats,
   * or when the stream holds events past our position and none has arrived for a while.
   */
  async function run(caughtUp: () => void, end: number): Promise<void> {
    while (!stopped) {
      let watchdog: NodeJS.Timeout | undefined;
      try {
        const consumer = await js.consumers.get(store.names.eventStream, {
          filter_subjects: filters,
          ...(seq > 0
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: seq + 1 }
            : { deliver_policy: DeliverPolicy.All }),
        });
        const current = await consumer.consume({ max_messages: 4096, expires: 5000 });
        messages = current;
        if (stopped) {
          // Stopped while the consumer was being made (right after a start that had nothing
          // left to fold): `stop` found none to close. A close is done once the iteration
          // reaches it; what was delivered before it is dropped.
          void current.close();
          for await (const _dropped of current);
          break;
        }
        let lastProgress = Date.now();
        let lastProbe = 0;
        const restart = (why: string) => {
          log.warn(
            { projection: projection.name, seq, why },
            'projection consumer stalled; restarting it',
          );
          void current.close();
        };
        void (async () => {
          for await (const st of current.status()) {
            if (st.type === 'heartbeats_missed' && st.count >= 2)
              return restart('heartbeats missed');
          }
        })().catch(() => undefined);
        let lastTick = Date.now();
        /** When the event loop last came back from being blocked: silence is counted from there. */
        let resumedAt = 0;
        watchdog = setInterval(() => {
          const now = Date.now();
          const silentMs = now - lastProgress;
          // A late tick means this process was blocked: delivered messages may still wait unread.
          if (now - lastTick >= 1.5 * catchUpStallAfterMs) resumedAt = now;
          lastTick = now;
          const waitingMs = now - Math.max(lastProgress, expectedSince, resumedAt);
          if (expected > seq && waitingMs >= catchUpStallAfterMs)
            return restart(`${expected} is stored but not delivered, fold at ${seq}`);
          if (silentMs < stallAfterMs || Date.now() - lastProbe < stallAfterMs) return;
          lastProbe = Date.now();
          void (async () => {
            let last = 0;
            for (const f of filters) last = Math.max(last, await store.lastSeq(f));
            if (last > seq && Date.now() - lastProgress >= stallAfterMs)
              restart(`stream at ${last}, fold at ${seq}`);
          })().catch((err: unknown) => log.debug({ err }, 'watchdog probe failed'));
        }, catchUpStallAfterMs);
        for await (const m of current) {
          lastProgress = Date.now();
          if (m.seq <= seq) continue;
          if (opts.alreadyFolded?.(m.seq)) seq = m.seq;
          else fold(toRaw(m));
          if (seq >= end || m.info.pending === 0) {
            // Nothing more to deliver now: what was expected past here is gone (e.g. purged).
            expected = Math.min(expected, seq);
            caughtUp();
          }
          settleWaiters();
        }
      } catch (err) {
        if (stopped) break;
        log.error(
          { err, projection: projection.name, seq },
          'projection consumer failed; resuming',
        );
        await new Promise((r) => setTimeout(r, 250));
      } finally {
        if (watchdog) clearInterval(watchdog);
      }
    }
  }

  return {
    get state() {
      return state;
    },
    get seq() {
      return seq;
    },
    get skipped() {
      return skipped;
    },
    async start({ fromSnapshot = true } = {}) {
      if (fromSnapshot && opts.snapshots) {
        const { key } = opts.snapshots;
        const start = await restoreSnapshot(
          opts.snapshots.store,
          key,
          (data) => projection.fromSnapshot(data),
          async () => {
            const stream = await store.streamState();
            streamCreated = stream.created;
            return stream;
          },
        );
        if (start.kind === 'restored') {
          state = start.state;
          seq = start.seq;
          log.info({ projection: projection.name, key, seq }, 'restored snapshot');
        } else if (start.kind === 'passed-over') {
          log.warn(
            { err: start.err, projection: projection.name, key, seq: start.seq, why: start.why },
            'snapshot passed over; folding from the start of the stream',
          );
        }
      }
      // A stop may come at any await of a start (a partition lost while it was being taken):
      // the start then ends there, with nothing more read and no consumer made.
      if (stopped) return;
      let end = 0;
      for (const f of filters) end = Math.max(end, await store.lastSeq(f));
      if (stopped) return;
      if (end - seq >= catchUpByReadFrom) await catchUp(end);
      if (stopped) return;
      let resolveCaughtUp!: () => void;
      const caught = new Promise<void>((r) => (resolveCaughtUp = r));
      if (end <= seq) resolveCaughtUp();
      expectStored(end); // catching up: a consumer that delivers none of it is replaced
      loop = run(resolveCaughtUp, end);
      await Promise.race([caught, loop]); // the loop ends only when stopped
    },
    waitForSeq(target, timeoutMs = 10_000) {
      return wait((s) => s >= target, timeoutMs, `sequence ${target}`);
    },
    waitUntil(predicate, timeoutMs = 10_000) {
      return wait((_s, st) => predicate(st), timeoutMs, 'condition');
    },
    expect: expectStored,
    async saveSnapshot() {
      if (!opts.snapshots) throw new Error(`projection ${projection.name} has no snapshot store`);
      streamCreated ??= (await store.streamState()).created;
      const at = seq; // the state and its sequence taken together, after the last await
      await opts.snapshots.store.save(opts.snapshots.key, {
        seq: at,
        savedAtMs: clock(),
        state: projection.toSnapshot(state),
        stream: streamCreated,
      });
      return { seq: at };
    },
    async stop() {
      stopped = true;
      // Nothing will be folded any more: whoever waits for a sequence would only time out.
      for (const w of waiters)
        w.reject(new Error(`projection ${projection.name} stopped at ${seq}`));
      waiters.clear();
      await messages?.close();
      await loop;
    },
  };

  function wait(
    test: (seq: number, state: S) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<void> {
    if (test(seq, state)) return Promise.resolve();
    if (stopped)
      return Promise.reject(new Error(`projection ${projection.name} stopped at ${seq}`));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<S> = {
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        waiters.delete(w);
        reject(
          new Error(
            `projection ${projection.name} did not reach ${what} within ${timeoutMs}ms (at ${seq})`,
          ),
        );
      }, timeoutMs);
      waiters.add(w);
    });
  }
}

/** Folds everything matching the filters from zero (or from a given state/seq) to the stream's current end. */
export async function rebuild<S>(
  store: EventStore,
  projection: Projection<S>,
  opts: { filterSubjects?: string[]; from?: { state: S; seq: number } } = {},
): Promise<{ state: S; seq: number; skipped: number }> {
  let state = opts.from?.state ?? projection.init();
  let seq = opts.from?.seq ?? 0;
  let skipped = 0;
  const last = await store.scan(
    {
      ...(opts.filterSubjects && { filterSubjects: opts.filterSubjects }),
      fromSeq: seq + 1,
      inThread: true,
    },
    (raw) => {
      if (raw.decoded.ok) {
        state = projection.evolve(state, {
          seq: raw.seq,
          subject: raw.subject,
          storedAtMs: raw.storedAtMs,
          event: raw.decoded.event,
        });
      } else {
        skipped++;
      }
    },
  );
  seq = Math.max(seq, last);
  return { state, seq, skipped };
}
