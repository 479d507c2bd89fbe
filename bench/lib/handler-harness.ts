/**
 * A worker's task handler without NATS, for the micro-benchmarks of its paths
 * (bench/worker-path.ts, bench/tick-path.ts): the real event store over a publisher that answers
 * in the next turn, and task messages delivered as plain objects whose acks do nothing.
 */
import type { Logger } from 'pino';
import { createEventStore, type EventStore } from '../../src/events/event-store.js';
import type { JsPublisher, PubAck } from '../../src/events/publisher.js';
import { subjects, type Names } from '../../src/events/subjects.js';
import { createAbortsHeard } from '../../src/services/worker/aborts-heard.js';
import { createActiveAttempts } from '../../src/services/worker/active-attempts.js';
import { createLogShipper } from '../../src/services/worker/log-shipper.js';
import { createRunGate } from '../../src/services/worker/run-gate.js';
import type { TaskHandlerDeps } from '../../src/services/worker/task-handler.js';
import type { TaskDelivery } from '../../src/services/worker/task-puller.js';
import type { Processor } from '../../src/services/worker/types.js';
import { emptyWorkerStats } from '../../src/services/worker/types.js';

const decoder = new TextDecoder();

/** Answers each turn's publishes together in the next turn, as PubAcks come back in a batch. */
export function nextTurnPublisher(names: Names): JsPublisher {
  let seq = 0;
  let answering: (() => void)[] = [];
  return {
    publish(): Promise<PubAck> {
      return new Promise((resolve) => {
        if (answering.length === 0)
          setImmediate(() => {
            const now = answering;
            answering = [];
            for (const answer of now) answer();
          });
        answering.push(() => resolve({ stream: names.eventStream, seq: ++seq, duplicate: false }));
      });
    },
  };
}

/** The real event store over {@link nextTurnPublisher} (nothing else of NATS is used). */
export function storeWithoutNats(names: Names, publisher = nextTurnPublisher(names)): EventStore {
  return createEventStore({
    nc: undefined as never,
    js: undefined as never,
    jsm: undefined as never,
    names,
    publisher,
  });
}

/** A delivered task message; acking, naking and terminating it do nothing. */
export function taskDelivery(names: Names, payload: Uint8Array, seq: number): TaskDelivery {
  const settle = () => undefined;
  return {
    seq,
    subject: subjects.task(names, 'bench'),
    redelivered: false,
    json: <T>() => JSON.parse(decoder.decode(payload)) as T,
    ack: settle,
    nak: settle,
    term: settle,
    working: () => undefined,
  };
}

/**
 * A worker's handler dependencies, as the worker makes them, with its defaults: no claiming ahead,
 * starts recorded after 200 ms, every abort heard since a minute ago.
 */
export function handlerDeps(
  log: Logger,
  names: Names,
  o: { concurrency: number; processors: Record<string, Processor> },
): TaskHandlerDeps {
  const clock = { now: () => Date.now() };
  const publisher = nextTurnPublisher(names);
  const aborts = createAbortsHeard();
  aborts.listening(Date.now() - 60_000);
  return {
    store: storeWithoutNats(names, publisher),
    jsm: undefined as never,
    names,
    workerId: 'w-bench',
    clock,
    processors: o.processors,
    shipper: createLogShipper({ publisher, log }),
    log,
    canRetry: () => true,
    abandoned: () => false,
    aborts,
    maxClockSkewMs: 2000,
    presenceEpoch: () => 1,
    workingEveryMs: 10_000,
    retryStartAfterMs: 1000,
    stats: emptyWorkerStats(),
    active: createActiveAttempts(),
    gate: createRunGate({ concurrency: o.concurrency, clock }),
    claimAheadMs: 0,
    recordStartAfterMs: 200,
    room: () => 2 * o.concurrency,
    handOn: () => Promise.resolve(),
  };
}
