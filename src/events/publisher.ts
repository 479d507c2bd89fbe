import { JetStreamApiError } from '@nats-io/jetstream';
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { utf8 } from './utf8.js';

/** What JetStream acknowledged for one published message. */
export interface PubAck {
  stream: string;
  seq: number;
  /** The stream already held a message with this message id: nothing new was stored. */
  duplicate: boolean;
}

export interface PublishOptions {
  /** `Nats-Msg-Id`: a re-sent message with the same id is stored once. */
  msgId?: string;
  /** `Nats-Expected-Last-Subject-Sequence` (0 = the subject must hold nothing yet). */
  expectedLastSubjectSeq?: number;
  /** Further headers, e.g. the event type. */
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * JetStream's answer did not come: the message may or may not be stored. Transient; a retry with
 * the same message id is safe.
 */
export class PublishTimeoutError extends Error {
  override readonly name = 'PublishTimeoutError';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`no JetStream acknowledgement for a publish to ${subject} within ${timeoutMs} ms`);
  }
}

/** Nothing stores the subject right now (no stream, or its leader is being elected). Transient. */
export class NoStreamResponderError extends Error {
  override readonly name = 'NoStreamResponderError';
  constructor(readonly subject: string) {
    super(`no JetStream stream answered a publish to ${subject} (no responders)`);
  }
}

/** The connection closed before JetStream answered. Transient for whoever reconnects. */
export class PublisherClosedError extends Error {
  override readonly name = 'PublisherClosedError';
  constructor(readonly subject: string) {
    super(`the connection closed before JetStream acknowledged a publish to ${subject}`);
  }
}

export interface JsPublisher {
  publish(subject: string, payload: Uint8Array, opts?: PublishOptions): Promise<PubAck>;
}

interface Waiting {
  subject: string;
  deadline: number;
  timeoutMs: number;
  resolve(ack: PubAck): void;
  reject(err: Error): void;
}

const decoder = new TextDecoder();

/**
 * A publish's headers as they go on the wire: `NATS/1.0`, a `Name: value` line each, an empty
 * line. A publish only asks its headers for `encode()`; the client's own MsgHdrs canonicalises and
 * searches its keys on every append (about 4 KiB allocated per message in our allocation profiles,
 * and a worker publishes two per task), for names that are ours and fixed.
 */
function wireHeaders(pairs: [string, string][]): MsgHdrs | undefined {
  if (pairs.length === 0) return undefined;
  let text = 'NATS/1.0\r\n';
  for (const [name, value] of pairs) {
    if (/[\r\n]/.test(value)) throw new Error(`header ${name}: values cannot contain \\r or \\n`);
    text += `${name}: ${value}\r\n`;
  }
  text += '\r\n';
  return { encode: () => utf8(text) } as unknown as MsgHdrs;
}

/**
 * Pipelined JetStream publishes: every acknowledgement comes back on one wildcard inbox
 * subscription, matched to its publish by a counter token, and one sweep timer expires the late
 * ones. `js.publish` of the official client makes a request per message instead (a mux entry, a
 * timer, and an Error object built even on success): on our 2-core machine this publisher moves
 * 1.8–2× the messages per second from one process (docs/benchmarks.md). The acknowledgement and its errors
 * mean exactly what they mean for `js.publish`: a refusal arrives as the client's
 * JetStreamApiError with the server's error code.
 */
export function createJsPublisher(
  nc: NatsConnection,
  opts: { timeoutMs: number; sweepEveryMs?: number },
): JsPublisher {
  const waiting = new Map<string, Waiting>();
  const sweepEveryMs = opts.sweepEveryMs ?? Math.max(10, Math.min(250, opts.timeoutMs / 4));
  let inbox: string | undefined;
  let counter = 0;
  let sweeper: NodeJS.Timeout | undefined;
  let closed = false;

  function settle(token: string, m: Msg): void {
    const w = waiting.get(token);
    if (!w) return; // expired already
    waiting.delete(token);
    if (m.data.length === 0 && m.headers && m.headers.code >= 300) {
      w.reject(
        m.headers.code === 503
          ? new NoStreamResponderError(w.subject)
          : new Error(`publish to ${w.subject}: status ${m.headers.code} ${m.headers.description}`),
      );
      return;
    }
    let body: {
      stream?: string;
      seq?: number;
      duplicate?: boolean;
      error?: { code: number; err_code: number; description: string };
    };
    try {
      body = JSON.parse(decoder.decode(m.data)) as typeof body;
    } catch (err) {
      w.reject(new Error(`publish to ${w.subject}: unreadable acknowledgement`, { cause: err }));
      return;
    }
    if (body.error) w.reject(new JetStreamApiError(body.error));
    else if (typeof body.seq !== 'number' || !body.stream)
      w.reject(new Error(`publish to ${w.subject}: acknowledgement without a sequence`));
    else w.resolve({ stream: body.stream, seq: body.seq, duplicate: body.duplicate === true });
  }

  function listen(): string {
    if (inbox) return inbox;
    const prefix = createInbox();
    const cut = prefix.length + 1;
    nc.subscribe(`${prefix}.*`, {
      callback: (err, m) => {
        if (!err) settle(m.subject.slice(cut), m);
      },
    });
    nc.closed()
      .then(failAll)
      .catch(() => undefined);
    return (inbox = prefix);
  }

  /** The connection closed: nothing waiting will be answered, and nothing more is sent. */
  function failAll(): void {
    closed = true;
    for (const w of waiting.values()) w.reject(new PublisherClosedError(w.subject));
    waiting.clear();
    stopSweeping();
  }

  /**
   * Publishes asked for during one turn of the event loop, sent together at the end of it: the
   * client writes what is queued on its connection in one go when it flushes, so they leave in one
   * socket write instead of one each (a flush follows every microtask checkpoint with something
   * queued, and an append's callers reach it from many).
   */
  const queued: {
    token: string;
    subject: string;
    payload: Uint8Array;
    headers: MsgHdrs | undefined;
  }[] = [];
  function flushQueued(): void {
    const reply = listen();
    for (const q of queued.splice(0)) {
      try {
        nc.publish(q.subject, q.payload, { reply: `${reply}.${q.token}`, headers: q.headers });
      } catch (err) {
        const w = waiting.get(q.token);
        waiting.delete(q.token);
        w?.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  function sweep(): void {
    const now = Date.now();
    for (const [token, w] of waiting) {
      if (w.deadline > now) continue;
      waiting.delete(token);
      w.reject(new PublishTimeoutError(w.subject, w.timeoutMs));
    }
    if (waiting.size === 0) stopSweeping();
  }

  function stopSweeping(): void {
    if (sweeper) clearInterval(sweeper);
    sweeper = undefined;
  }

  return {
    publish(subject, payload, o = {}) {
      if (closed || nc.isClosed()) return Promise.reject(new PublisherClosedError(subject));
      const pairs: [string, string][] = [];
      if (o.msgId !== undefined) pairs.push(['Nats-Msg-Id', o.msgId]);
      if (o.expectedLastSubjectSeq !== undefined)
        pairs.push(['Nats-Expected-Last-Subject-Sequence', String(o.expectedLastSubjectSeq)]);
      if (o.headers) pairs.push(...Object.entries(o.headers));
      const timeoutMs = o.timeoutMs ?? opts.timeoutMs;
      return new Promise<PubAck>((resolve, reject) => {
        const h = wireHeaders(pairs); // a value it refuses rejects the publish: nothing is queued
        const token = (counter++).toString(36);
        waiting.set(token, {
          subject,
          deadline: Date.now() + timeoutMs,
          timeoutMs,
          resolve,
          reject,
        });
        queued.push({ token, subject, payload, headers: h });
        if (queued.length === 1) setImmediate(flushQueued);
        sweeper ??= setInterval(sweep, sweepEveryMs);
      });
    },
  };
}
