import type { JsMsg } from '@nats-io/jetstream';
import { createInbox, type Msg, type NatsConnection, type Status } from '@nats-io/transport-node';
import { parseAckReply } from '../../events/ordered-read.js';

/** What a worker needs of a delivered task message (a subset of the client's JsMsg). */
export type TaskDelivery = Pick<
  JsMsg,
  'seq' | 'subject' | 'redelivered' | 'json' | 'ack' | 'nak' | 'working' | 'term'
>;

/** One pull request's deliveries, in order; ends when the request is satisfied or ends. */
export interface TaskPull extends AsyncIterable<TaskDelivery> {
  /** Ends the iteration now (deliveries still to come go to the next pull). */
  close(): Promise<void>;
}

export interface TaskPuller {
  /** Asks for up to `batch` messages, waiting at most `expiresMs` for them. */
  pull(opts: { batch: number; expiresMs: number }): TaskPull;
  /** Stops listening; a pull still open ends. */
  close(): void;
}

/** The pull request was refused, or its consumer is gone: the caller gets the consumer again. */
export class TaskPullError extends Error {
  override readonly name = 'TaskPullError';
  constructor(
    readonly code: number,
    readonly description: string,
  ) {
    super(`task pull refused: ${code} ${description}`);
  }
}

const ACK = new TextEncoder().encode('+ACK');
const WORKING = new TextEncoder().encode('+WPI');
const NAK = new TextEncoder().encode('-NAK');

/**
 * A delivered message, acknowledged by publishing to its reply subject. As with the client's
 * JsMsg, the first ack, nak or term settles it: what comes after (an in-progress ack too) is not
 * sent.
 */
function delivery(nc: NatsConnection, m: Msg): TaskDelivery {
  const info = parseAckReply(m.reply ?? '');
  let settled = false;
  const reply = (payload: Uint8Array | string, settles: boolean) => {
    if (settled || !m.reply) return;
    settled = settles;
    nc.publish(m.reply, payload);
  };
  return {
    seq: info?.streamSeq ?? 0,
    subject: m.subject,
    redelivered: (info?.deliveryCount ?? 1) > 1,
    json: <T>() => m.json<T>(),
    ack: () => reply(ACK, true),
    working: () => reply(WORKING, false),
    nak: (millis?: number) =>
      reply(
        millis && millis > 0 ? `-NAK ${JSON.stringify({ delay: millis * 1_000_000 })}` : NAK,
        true,
      ),
    term: (reason?: string) => reply(reason ? `+TERM ${reason}` : '+TERM', true),
  };
}

/**
 * Pull requests on a consumer over one subscription for the worker's life. The client's `fetch`
 * subscribes a new inbox for each request and unsubscribes it after (three socket writes per pull,
 * besides the request, and the server's subscription changes); a worker pulls one task message
 * at a time as its run slots free, so that was most of its writes. Deliveries belong to the
 * worker whichever request they answer: a late one goes to the next pull.
 */
export function createTaskPuller(
  nc: NatsConnection,
  target: { apiPrefix?: string; stream: string; consumer: string },
  /** Told when a request outlived its expiry by 5 s (lost on the way) and was given up. */
  onLost?: (expiresMs: number) => void,
): TaskPuller {
  const prefix = createInbox();
  const statusStart = prefix.length + 1;
  const nextSubject = `${target.apiPrefix ?? '$JS.API'}.CONSUMER.MSG.NEXT.${target.stream}.${target.consumer}`;
  let token = 0;
  /** Delivered and not yet handed to a pull. */
  const queue: TaskDelivery[] = [];
  let current: PullState | undefined;

  interface PullState {
    token: number;
    /** Still to be delivered for this request. */
    left: number;
    ended: boolean;
    error?: Error;
    wake?: () => void;
    timer: NodeJS.Timeout;
  }

  const end = (p: PullState, error?: Error) => {
    if (p.ended) return;
    p.ended = true;
    if (error) p.error = error;
    clearTimeout(p.timer);
    p.wake?.();
  };

  const sub = nc.subscribe(`${prefix}.*`, {
    callback: (err, m) => {
      const p = current;
      if (err) {
        if (p) end(p, err);
        return;
      }
      if (m.subject.startsWith(prefix)) {
        // A status for a request: only the current one's matters.
        if (!p || Number(m.subject.slice(statusStart)) !== p.token) return;
        const code = m.headers?.code ?? 0;
        if (code === 100) return; // idle heartbeat
        if (code === 404 || code === 408) return end(p);
        const description = m.headers?.description ?? '';
        // The consumer's leader moved: the request is gone, pull again.
        if (code === 409 && /leadership change/i.test(description)) return end(p);
        // Anything else (the consumer deleted, a limit exceeded, no JetStream answering) fails the
        // pull: the caller backs off and looks the consumer up again.
        return end(p, new TaskPullError(code, description));
      }
      queue.push(delivery(nc, m));
      if (p && !p.ended) {
        if (--p.left <= 0) end(p);
        else p.wake?.();
      }
    },
  });

  // A reconnected client has its subscription again, but the server forgot the request that was
  // waiting: the pull ends, and the caller pulls again.
  const statuses = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  void (async () => {
    for await (const s of statuses) if (s.type === 'reconnect' && current) end(current);
  })().catch(() => undefined);

  return {
    pull({ batch, expiresMs }) {
      if (current) end(current);
      const p: PullState = {
        token: ++token,
        left: batch,
        ended: false,
        // The server ends the request after `expiresMs`; a request lost on the way (a reconnect,
        // a leader change) would never end by itself.
        timer: setTimeout(() => {
          onLost?.(expiresMs);
          end(p);
        }, expiresMs + 5000),
      };
      current = p;
      nc.publish(
        nextSubject,
        JSON.stringify({ batch, expires: Math.max(1, expiresMs) * 1_000_000 }),
        { reply: `${prefix}.${p.token}` },
      );
      return {
        async *[Symbol.asyncIterator]() {
          try {
            for (;;) {
              const next = queue.shift();
              if (next) {
                yield next;
                continue;
              }
              if (p.ended) break;
              await new Promise<void>((resolve) => (p.wake = resolve));
              p.wake = undefined;
            }
            if (p.error) throw p.error;
          } finally {
            end(p);
            if (current === p) current = undefined;
          }
        },
        close() {
          end(p);
          return Promise.resolve();
        },
      };
    },
    close() {
      if (current) end(current);
      if (sub.isClosed()) return;
      sub.unsubscribe();
      statuses.stop?.();
    },
  };
}
