import type { JsPublisher } from '../../events/publisher.js';
import type { Logger } from 'pino';
import { encodeLogLine, type LogLine } from './log-line.js';

export interface LogShipper {
  /** Queues a line for its instance's log subject; never blocks, never throws. */
  ship(subject: string, line: LogLine): void;
  /** Resolves when every queued line has been published (or has failed and been logged). */
  flush(): Promise<void>;
  readonly dropped: number;
}

/**
 * Publishes per-instance log lines to the log stream, pipelined: up to `maxInFlight` publishes wait
 * for their acks at once. Publishes leave in queue order on one connection, so the stream keeps
 * each instance's lines in the order they were logged.
 */
export function createLogShipper(deps: {
  publisher: JsPublisher;
  log: Logger;
  maxInFlight?: number;
  /** Lines queued beyond this are dropped (counted and logged). Default 10 000. */
  maxQueued?: number;
}): LogShipper {
  const { publisher, log } = deps;
  const maxInFlight = deps.maxInFlight ?? 64;
  const maxQueued = deps.maxQueued ?? 10_000;
  const queue: { subject: string; data: Uint8Array }[] = [];
  let inFlight = 0;
  let dropped = 0;
  let idleWaiters: (() => void)[] = [];

  function settleIfIdle(): void {
    if (inFlight > 0 || queue.length > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  }

  function pump(): void {
    while (inFlight < maxInFlight) {
      const next = queue.shift();
      if (!next) break;
      inFlight++;
      publisher
        .publish(next.subject, next.data)
        .catch((err: unknown) => {
          dropped++;
          log.warn({ err, subject: next.subject }, 'publishing an instance log line failed');
        })
        .finally(() => {
          inFlight--;
          pump();
          settleIfIdle();
        });
    }
  }

  return {
    ship(subject, line) {
      if (queue.length >= maxQueued) {
        dropped++;
        if (dropped === 1 || dropped % 1000 === 0) {
          log.warn({ subject, dropped, maxQueued }, 'instance log queue full; dropping lines');
        }
        return;
      }
      queue.push({ subject, data: encodeLogLine(line) });
      pump();
    },
    flush() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get dropped() {
      return dropped;
    },
  };
}
