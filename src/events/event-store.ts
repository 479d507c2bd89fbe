import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StoredMsg,
} from '@nats-io/jetstream';
import { ConcurrencyError } from './errors.js';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  decodeEvent,
  decodeEventText,
  encodeEvent,
  encodeTrusted,
  MAX_EVENT_BYTES,
  type Decoded,
} from './codec.js';
import type { JetschedEvent, StoredEvent } from './event.js';
import { subjects as subjectNames, type Names } from './subjects.js';
import type { JsPublisher, PublishOptions } from './publisher.js';
import { asking } from './request-timeout.js';
import { readOrdered, ReplayStalledError, type ReadHooks, type ReadRange } from './ordered-read.js';
import type { Logger } from 'pino';

export { ReplayStalledError } from './ordered-read.js';

/**
 * JetStream's API error codes for a failed `Nats-Expected-Last-Subject-Sequence` check: 10071 on a
 * single server ("wrong last sequence: N"), 10164 from a clustered stream ("wrong last sequence").
 */
export const JS_WRONG_LAST_SEQUENCE_CODES: ReadonlySet<number> = new Set([10071, 10164]);

export interface AppendOptions {
  /**
   * Optimistic concurrency: the last sequence the writer folded for this subject (0 = the
   * subject must be empty). A stale value is refused with ConcurrencyError.
   */
  expectedLastSubjectSeq?: number;
  /** Dedup id; defaults to the event id. A re-sent append with the same id is stored once. */
  msgId?: string;
  /**
   * Register the id with the server's dedup window (`Nats-Msg-Id`); default true, and always
   * with no `expectedLastSubjectSeq`. Turn it off where the expectation is never read afresh for
   * a retry (it came with a task, or from the writer's own last ack): the first stored copy moved
   * the subject past that expectation, so the check alone refuses every later copy, and the window
   * would only cost (≈ 2.7 µs of nats-server CPU per message, and its memory: bench/server-cost.ts).
   * A refused copy that is still the subject's last message is recognised by the event id in its
   * payload and answered as a duplicate, as the window would have answered it.
   */
  dedup?: boolean;
  /** Skip schema validation for events built by our own typed code (hot paths). */
  trusted?: boolean;
  timeoutMs?: number;
}

export interface AppendResult {
  seq: number;
  /** True when the stream already held a message with this id (nothing new was stored). */
  duplicate: boolean;
}

/** One message read back from the stream; `decoded.ok` is false for messages we cannot parse. */
export interface RawStoredEvent {
  seq: number;
  subject: string;
  storedAtMs: number;
  decoded: Decoded;
}

export interface ReplayOptions {
  /** Subjects to read (wildcards allowed); defaults to every event. */
  filterSubjects?: string[];
  fromSeq?: number;
  toSeq?: number;
  fromTimeMs?: number;
  toTimeMs?: number;
  /**
   * For long reads (rebuilds): read in a thread of its own while this one decodes and visits,
   * when the store was given a {@link ThreadReader} and the range holds at least its
   * `threadMinRange` events (filtered, as the server counts them). Only `scan` honours it.
   */
  inThread?: boolean;
}

/**
 * Reads a range of the event stream in another thread (with its own connection), handing each
 * message's JSON text back to this one, in order. Same contract as {@link readOrdered}.
 */
export type ThreadReader = (
  range: ReadRange,
  visit: (seq: number, subject: string, storedAtMs: number, json: string) => void,
  hooks?: Pick<ReadHooks, 'onReset'>,
) => Promise<number>;

/** Below this many events a reader thread costs more (its start, its connection) than it saves. */
export const DEFAULT_THREAD_MIN_RANGE = 50_000;

export interface EventStore {
  readonly names: Names;
  append(subject: string, event: JetschedEvent, opts?: AppendOptions): Promise<AppendResult>;
  /** The sequence of the last event on a subject (wildcards allowed), 0 when there is none. */
  lastSeq(subject: string): Promise<number>;
  /** Every event of one aggregate (or any filter), in order, with the sequence reached. */
  readHistory(
    filterSubject: string,
  ): Promise<{ events: StoredEvent[]; lastSeq: number; undecodable: RawStoredEvent[] }>;
  /** Streams stored events in order for audit and rebuilds; bounded by the stream's current end. */
  replay(opts?: ReplayOptions): AsyncGenerator<RawStoredEvent>;
  /**
   * Reads the same events as {@link replay}, calling `visit` for each one as its message is
   * delivered, with no asynchronous step between events: the fastest way to fold. Resolves with
   * the last sequence visited (0 when nothing matched); rejects with what `visit` threw.
   */
  scan(opts: ReplayOptions, visit: (raw: RawStoredEvent) => void): Promise<number>;
  /** The subjects matching a filter that hold at least one event (read from the stream's state). */
  subjects(filter: string): Promise<string[]>;
  /**
   * How many stored events match `filters` from `fromSeq` to the stream's end, counted by the
   * server (nothing is delivered).
   */
  countFrom(filters: string[], fromSeq: number): Promise<number>;
  /**
   * The event stream as it is now: when it was made (a stream deleted and made again under the
   * same name has another time) and the last sequence it ever assigned (messages since removed
   * included).
   */
  streamState(): Promise<StreamState>;
}

/** See {@link EventStore.streamState}. */
export interface StreamState {
  created: string;
  lastSeq: number;
}

/**
 * The id a stored message was appended with: its `Nats-Msg-Id` when it has one, else the event id
 * in its payload (an append with `dedup: false` carries no message id).
 */
function storedId(m: StoredMsg): string | undefined {
  const header = m.header?.get('Nats-Msg-Id');
  if (header) return header;
  try {
    const id = m.json<{ id?: unknown }>().id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined; // not an event: not ours
  }
}

export function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && JS_WRONG_LAST_SEQUENCE_CODES.has(err.code);
}

/** How many times a stalled replay is resumed with a new consumer before it gives up. */
const REPLAY_RESUMES = 3;

export function createEventStore(deps: {
  /** `scan` reads through a plain subscription on it (readOrdered). */
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Appends go through it (pipelined acks). */
  publisher: JsPublisher;
  names: Names;
  maxEventBytes?: number;
  /**
   * A replay whose consumer delivers nothing for this long before the end is reached is resumed
   * with a new consumer from where it stopped (after a JetStream leader change a consumer now and
   * then stays silent). Default 5000 ms.
   */
  replayStallMs?: number;
  /** Enables {@link ReplayOptions.inThread}. */
  readInThread?: ThreadReader;
  /** The fewest events a read in a thread holds. Default {@link DEFAULT_THREAD_MIN_RANGE}. */
  threadMinRange?: number;
  /** Where a read that replaces its consumer says so. */
  log?: Logger;
}): EventStore {
  const { nc, js, jsm, names, publisher } = deps;
  const maxBytes = deps.maxEventBytes ?? MAX_EVENT_BYTES;
  const replayStallMs = deps.replayStallMs ?? 5000;

  async function append(
    subject: string,
    event: JetschedEvent,
    opts: AppendOptions = {},
  ): Promise<AppendResult> {
    const payload = opts.trusted ? encodeTrusted(event, maxBytes) : encodeEvent(event, maxBytes);
    try {
      const publish: PublishOptions = { headers: { 'Jetsched-Type': event.type } };
      if (opts.expectedLastSubjectSeq === undefined || opts.dedup !== false)
        publish.msgId = opts.msgId ?? event.id;
      if (opts.expectedLastSubjectSeq !== undefined)
        publish.expectedLastSubjectSeq = opts.expectedLastSubjectSeq;
      if (opts.timeoutMs !== undefined) publish.timeoutMs = opts.timeoutMs;
      const ack = await publisher.publish(subject, payload, publish);
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      if (isWrongLastSequence(err)) {
        // A re-sent append (same id, same now-stale expectation) is refused by the sequence check
        // before dedup sees it (nats-server 2.15.1, one server). If the subject's last message is
        // ours, it is a duplicate, not a conflict.
        const last = await lastMessage(subject);
        if (last && storedId(last) === (opts.msgId ?? event.id)) {
          return { seq: last.seq, duplicate: true };
        }
        throw new ConcurrencyError(subject, opts.expectedLastSubjectSeq ?? -1, err, last?.seq ?? 0);
      }
      throw err;
    }
  }

  async function lastMessage(subject: string) {
    try {
      return await asking(
        `the last message on ${subject}`,
        jsm.streams.getMessage(names.eventStream, { last_by_subj: subject }),
      );
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === 10037) return null; // no message found
      throw err;
    }
  }

  async function lastSeq(subject: string): Promise<number> {
    return (await lastMessage(subject))?.seq ?? 0;
  }

  /** The filters, the first sequence to read and the last one (the end is fixed up front). */
  async function rangeOf(
    opts: ReplayOptions,
  ): Promise<{ filters: string[]; fromSeq: number | undefined; end: number } | undefined> {
    const filters = opts.filterSubjects?.length
      ? opts.filterSubjects
      : [subjectNames.eventsAll(names)];
    // The end is the last matching message now. Later appends are not waited for.
    let end = 0;
    for (const f of filters) end = Math.max(end, await lastSeq(f));
    if (opts.toSeq !== undefined) end = Math.min(end, opts.toSeq);
    let fromSeq = opts.fromSeq;
    if (opts.fromTimeMs !== undefined) {
      // Resolve the time to a sequence first: a consumer started by time would wait forever
      // when nothing is that recent.
      const first = await asking(
        `the first message since ${new Date(opts.fromTimeMs).toISOString()}`,
        jsm.direct.getMessage(names.eventStream, { start_time: new Date(opts.fromTimeMs) }),
      );
      if (!first) return undefined;
      fromSeq = Math.max(fromSeq ?? 1, first.seq);
    }
    if (end === 0 || (fromSeq !== undefined && fromSeq > end)) return undefined;
    return { filters, fromSeq, end };
  }

  function readFrom(filters: string[], fromSeq: number | undefined) {
    return asking(
      `a consumer of ${filters.join(', ')} from ${fromSeq ?? 1}`,
      js.consumers.get(names.eventStream, {
        filter_subjects: filters,
        ...(fromSeq !== undefined
          ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq }
          : { deliver_policy: DeliverPolicy.All }),
      }),
    );
  }

  async function* replay(opts: ReplayOptions = {}): AsyncGenerator<RawStoredEvent> {
    const range = await rangeOf(opts);
    if (!range) return;
    const { filters, end } = range;
    let fromSeq = range.fromSeq;
    for (let resumed = 0; ; resumed++) {
      const consumer = await readFrom(filters, fromSeq);
      const messages = await consumer.consume({ max_messages: 2048 });
      // Only the consumer's silence counts: the timer is off while the caller holds an item.
      let stalled = false;
      let idle: NodeJS.Timeout | undefined;
      const watch = () => {
        idle = setTimeout(() => {
          stalled = true;
          void messages.close();
        }, replayStallMs);
      };
      watch();
      try {
        for await (const m of messages) {
          clearTimeout(idle);
          const item = toRaw(m);
          if (opts.toTimeMs !== undefined && item.storedAtMs > opts.toTimeMs) return;
          if (item.seq > end) return;
          yield item;
          if (item.seq >= end || m.info.pending === 0) return;
          fromSeq = item.seq + 1;
          watch();
        }
      } finally {
        clearTimeout(idle);
        await messages.close();
      }
      if (!stalled) return;
      if (resumed >= REPLAY_RESUMES)
        throw new ReplayStalledError(filters, fromSeq ?? 1, end, replayStallMs * (resumed + 1));
    }
  }

  async function scan(opts: ReplayOptions, visit: (raw: RawStoredEvent) => void): Promise<number> {
    const found = await rangeOf(opts);
    if (!found) return 0;
    const whole = found.filters.length === 1 && found.filters[0] === subjectNames.eventsAll(names);
    const range: ReadRange = {
      stream: names.eventStream,
      // Every event: read without a filter, which spares the server matching each subject.
      filters: whole ? [] : found.filters,
      fromSeq: found.fromSeq ?? 1,
      end: found.end,
      ...(opts.toTimeMs !== undefined && { toTimeMs: opts.toTimeMs }),
      stallMs: replayStallMs,
      resumes: REPLAY_RESUMES,
    };
    const hooks = {
      onReset: (why: string, atSeq: number) =>
        deps.log?.warn(
          { filters: found.filters, atSeq, endSeq: found.end, why },
          'event read: consumer replaced',
        ),
    };
    const { readInThread } = deps;
    if (opts.inThread && readInThread && (await worthAThread(range, whole)))
      return readInThread(
        range,
        (seq, subject, storedAtMs, json) =>
          visit({ seq, subject, storedAtMs, decoded: decodeEventText(json) }),
        hooks,
      );
    // Messages are visited inside the client's socket handler, one after another: the next is
    // not parsed before `visit` returns, so a slow fold holds the read back.
    return readOrdered(
      nc,
      jsm,
      range,
      (seq, subject, storedAtMs, data) =>
        visit({ seq, subject, storedAtMs, decoded: decodeEvent(data) }),
      hooks,
    );
  }

  /**
   * A reader thread pays for its start and its connection over a long read only: the range spans
   * enough sequences and, when filtered, enough of them match. A partition's tail after a takeover
   * spans every partition's appends and holds a sixteenth of them; a thread for each partition
   * taken at once would crowd the cores the takeover needs.
   */
  async function worthAThread(range: ReadRange, whole: boolean): Promise<boolean> {
    const threadMinRange = deps.threadMinRange ?? DEFAULT_THREAD_MIN_RANGE;
    if (range.end - range.fromSeq + 1 < threadMinRange) return false;
    if (whole) return true;
    try {
      return (await countFrom(range.filters, range.fromSeq)) >= threadMinRange;
    } catch (err) {
      deps.log?.warn(
        { err, filters: range.filters, fromSeq: range.fromSeq },
        'counting a read failed; it is read in this thread',
      );
      return false;
    }
  }

  /** The pending count of a consumer that delivers nothing, removed right after. */
  async function countFrom(filters: string[], fromSeq: number): Promise<number> {
    const info = await asking(
      `a count of ${filters.join(', ')} from ${fromSeq}`,
      jsm.consumers.add(names.eventStream, {
        filter_subjects: filters,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: fromSeq,
        ack_policy: AckPolicy.None,
        inactive_threshold: 5_000_000_000, // removed by the server if the delete below is lost
        mem_storage: true,
        num_replicas: 1,
      }),
    );
    jsm.consumers
      .delete(names.eventStream, info.name)
      .catch((err: unknown) =>
        deps.log?.debug({ err, consumer: info.name }, 'deleting a counting consumer failed'),
      );
    return info.num_pending;
  }

  async function readHistory(filterSubject: string) {
    const events: StoredEvent[] = [];
    const undecodable: RawStoredEvent[] = [];
    const last = await scan({ filterSubjects: [filterSubject] }, (item) => {
      if (item.decoded.ok) {
        events.push({
          seq: item.seq,
          subject: item.subject,
          storedAtMs: item.storedAtMs,
          event: item.decoded.event,
        });
      } else {
        undecodable.push(item);
      }
    });
    return { events, lastSeq: last, undecodable };
  }

  async function subjects(filter: string): Promise<string[]> {
    const info = await jsm.streams.info(names.eventStream, { subjects_filter: filter });
    return Object.keys(info.state.subjects ?? {});
  }

  async function streamState(): Promise<StreamState> {
    const info = await asking('the event stream', jsm.streams.info(names.eventStream));
    return { created: info.created, lastSeq: info.state.last_seq };
  }

  return { names, append, lastSeq, readHistory, replay, scan, subjects, countFrom, streamState };
}

export function toRaw(m: JsMsg): RawStoredEvent {
  return {
    seq: m.seq,
    subject: m.subject,
    storedAtMs: Math.floor(m.info.timestampNanos / 1e6),
    decoded: decodeEvent(m.data),
  };
}
