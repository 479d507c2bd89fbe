import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { asking, RequestTimeoutError } from './request-timeout.js';

/** What to read: a stream's messages matching `filters`, from `fromSeq` up to `end`. */
export interface ReadRange {
  stream: string;
  /** Subjects to read (wildcards allowed); none = all of the stream. */
  filters: string[];
  fromSeq: number;
  /** The last sequence to read (fixed up front: later appends are not waited for). */
  end: number;
  /** Stop at the first message stored after this time. */
  toTimeMs?: number;
  /** A consumer that delivers nothing for this long is replaced by a new one from where it stopped. */
  stallMs: number;
  /** How many consumers in a row may deliver nothing before the read gives up. */
  resumes: number;
}

/** Visits one stored message; `data` is only valid during the call. */
export type VisitMessage = (
  seq: number,
  subject: string,
  storedAtMs: number,
  data: Uint8Array,
) => void;

/**
 * Called with each flow-control answer the server asks for. The default answers at once;
 * holding an answer back pauses delivery (the reader thread does so while its chunks wait).
 */
export type FlowControl = (answer: () => void) => void;

/** What a read may be told besides its messages. */
export interface ReadHooks {
  flowControl?: FlowControl;
  /** A consumer was given up and a new one asked for from `atSeq` (a gap, a silence, a status). */
  onReset?: (why: string, atSeq: number) => void;
}

/** Consumers kept delivering nothing: the read gives up rather than wait forever. */
export class ReplayStalledError extends Error {
  override readonly name = 'ReplayStalledError';
  constructor(
    readonly filterSubjects: string[],
    readonly atSeq: number,
    readonly endSeq: number,
    readonly silentMs: number,
    /** Why the last consumer was given up (e.g. "nothing for 5000 ms", a gap in its deliveries). */
    readonly lastReason?: string,
  ) {
    const what = filterSubjects.length > 0 ? filterSubjects.join(', ') : 'every subject';
    super(
      `reading ${what} stalled at sequence ${atSeq} of ${endSeq}: nothing read for ${silentMs} ms over several consumers${lastReason ? ` (the last: ${lastReason})` : ''}`,
    );
  }
}

/** The delivery facts a JetStream message's reply subject carries. */
export interface AckReply {
  /** How many times the message has been delivered, this delivery included. */
  deliveryCount: number;
  streamSeq: number;
  deliverySeq: number;
  /** When the message was stored, in whole milliseconds (the subject gives nanoseconds). */
  timestampMs: number;
  pending: number;
}

/** Where the tokens of the subject being parsed begin (one array for every parse: no allocation). */
const tokenStarts: number[] = [];

/**
 * The integer written in `s` from `from` to `to` (exclusive); NaN unless it is all digits. With
 * `dropLast`, that many final digits are checked but left out (nanoseconds read as milliseconds,
 * exactly: the whole number is past 2^53).
 */
function integerAt(s: string, from: number, to: number, dropLast = 0): number {
  if (to <= from) return NaN;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    if (i < to - dropLast) n = n * 10 + d;
  }
  return n;
}

/**
 * Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`, or its newer
 * form with a domain and account hash after `ACK` and a random token at the end; null for any
 * other subject. Reads the subject in place (every message of a long read passes here).
 */
export function parseAckReply(reply: string): AckReply | null {
  if (!reply.startsWith('$JS.ACK.')) return null;
  let tokens = 1;
  tokenStarts[0] = 0;
  for (let i = reply.indexOf('.'); i >= 0 && tokens <= 12; i = reply.indexOf('.', i + 1))
    tokenStarts[tokens++] = i + 1;
  const at = tokens === 9 ? 4 : tokens >= 11 ? 6 : -1;
  if (at < 0) return null;
  const from = (k: number) => tokenStarts[k] ?? 0;
  const to = (k: number) => (k + 1 < tokens ? from(k + 1) - 1 : reply.length);
  return {
    deliveryCount: integerAt(reply, from(at), to(at)),
    streamSeq: integerAt(reply, from(at + 1), to(at + 1)),
    deliverySeq: integerAt(reply, from(at + 2), to(at + 2)),
    timestampMs: integerAt(reply, from(at + 3), to(at + 3), 6),
    pending: integerAt(reply, from(at + 4), to(at + 4)),
  };
}

type Outcome = { kind: 'done' } | { kind: 'reset'; why: string } | { kind: 'failed'; err: Error };

/**
 * Reads a range of a stream in order through an ephemeral push consumer (no acks, flow control,
 * idle heartbeats) on a plain subscription: the message is visited straight from the client's
 * parser, without the JetStream message wrapper, which is about a third of the client's cost of a
 * long read (bench/read.ts). A gap in the delivery sequence, a deleted consumer or a silent one
 * is recovered by a new consumer from the sequence after the last visited (`onReset` is told
 * why). Resolves with the last sequence visited (0 when nothing matched); rejects with what
 * `visit` threw.
 */
export async function readOrdered(
  nc: NatsConnection,
  jsm: JetStreamManager,
  range: ReadRange,
  visit: VisitMessage,
  { flowControl = (answer) => answer(), onReset }: ReadHooks = {},
): Promise<number> {
  let next = range.fromSeq;
  let last = 0;
  let silentConsumers = 0;
  for (;;) {
    const before = last;
    const outcome = await readOnce();
    if (outcome.kind === 'done') return last;
    if (outcome.kind === 'failed') throw outcome.err;
    silentConsumers = last === before ? silentConsumers + 1 : 0;
    if (silentConsumers > range.resumes)
      throw new ReplayStalledError(
        range.filters,
        next,
        range.end,
        range.stallMs * silentConsumers,
        outcome.why,
      );
    onReset?.(outcome.why, next);
  }

  async function readOnce(): Promise<Outcome> {
    const inbox = createInbox();
    let finished = false;
    let settle!: (o: Outcome) => void;
    const outcome = new Promise<Outcome>((r) => (settle = r));
    const finish = (o: Outcome) => {
      if (finished) return;
      finished = true;
      settle(o);
    };
    let expectedDelivery = 1;
    let lastActivity = Date.now();

    const onMessage = (m: Msg) => {
      const reply = m.reply;
      const ack = reply ? parseAckReply(reply) : null;
      if (!ack) return onStatus(m);
      lastActivity = Date.now();
      if (ack.deliverySeq !== expectedDelivery)
        return finish({
          kind: 'reset',
          why: `delivery ${ack.deliverySeq} after ${expectedDelivery - 1}`,
        });
      expectedDelivery++;
      const seq = ack.streamSeq;
      const storedAtMs = ack.timestampMs;
      if (seq > range.end || (range.toTimeMs !== undefined && storedAtMs > range.toTimeMs))
        return finish({ kind: 'done' });
      visit(seq, m.subject, storedAtMs, m.data);
      last = seq;
      next = seq + 1;
      if (seq >= range.end || ack.pending === 0) finish({ kind: 'done' });
    };

    /** Flow-control answers handed out and not yet sent: delivery is paused, not silent. */
    let held = 0;
    const answer = (send: () => void) => {
      held++;
      flowControl(() => {
        held--;
        lastActivity = Date.now();
        send();
      });
    };

    const onStatus = (m: Msg) => {
      const code = m.headers?.code ?? 0;
      if (code === 100 && m.reply) {
        lastActivity = Date.now();
        return answer(() => m.respond());
      }
      if (code === 100) {
        // An idle heartbeat is not progress (a consumer gone silent still sends them); it names
        // the last delivery, and the flow-control subject of a consumer stalled on an answer.
        const stalled = m.headers?.get('Nats-Consumer-Stalled');
        if (stalled) answer(() => nc.publish(stalled));
        const lastDelivered = Number(m.headers?.get('Nats-Last-Consumer') ?? 0);
        if (lastDelivered > expectedDelivery - 1)
          finish({ kind: 'reset', why: `heartbeat names delivery ${lastDelivered}` });
        return;
      }
      finish({ kind: 'reset', why: `status ${code} ${m.headers?.description ?? ''}`.trim() });
    };

    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (finished) return;
        if (err) return finish({ kind: 'failed', err });
        try {
          onMessage(m);
        } catch (e) {
          finish({ kind: 'failed', err: e instanceof Error ? e : new Error(String(e)) });
        }
      },
    });
    let consumer: string | undefined;
    let watchdog: NodeJS.Timeout | undefined;
    try {
      let info: ConsumerInfo;
      try {
        info = await asking(
          `a consumer of ${range.filters.join(', ') || 'every subject'} from ${next}`,
          jsm.consumers.add(range.stream, {
            deliver_subject: inbox,
            ...(range.filters.length > 0 && { filter_subjects: range.filters }),
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: next,
            ack_policy: AckPolicy.None,
            max_deliver: 1,
            flow_control: true,
            idle_heartbeat: 1_000_000_000,
            inactive_threshold: 30_000_000_000,
            mem_storage: true,
            num_replicas: 1,
          }),
        );
      } catch (err) {
        // No answer (a busy or newly elected meta leader): ask again, as for a silent consumer.
        // One created all the same delivers to an inbox no longer listened to, and is removed
        // by the server once inactive. What it delivered while unanswered was visited, and may
        // have ended the read.
        if (!(err instanceof RequestTimeoutError)) throw err;
        finish({ kind: 'reset', why: err.message });
        return await outcome;
      }
      consumer = info.name;
      // Silence counts from the consumer's creation, not from asking for it.
      lastActivity = Date.now();
      watchdog = setInterval(
        () => {
          if (held === 0 && Date.now() - lastActivity >= range.stallMs)
            finish({ kind: 'reset', why: `nothing for ${range.stallMs} ms` });
        },
        Math.min(250, range.stallMs),
      );
      return await outcome;
    } finally {
      finished = true;
      clearInterval(watchdog);
      sub.unsubscribe();
      if (consumer) void jsm.consumers.delete(range.stream, consumer).catch(() => undefined);
    }
  }
}
