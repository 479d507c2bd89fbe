import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';

/** Fields attached to one log line; must be JSON-serialisable. */
export type LogFields = Record<string, unknown>;

/** Log levels a processor may write; mirrored to pino and to the instance's log subject. */
export const TaskLogLevel = { Debug: 'debug', Info: 'info', Warn: 'warn', Error: 'error' } as const;
export type TaskLogLevel = (typeof TaskLogLevel)[keyof typeof TaskLogLevel];

/** Per-instance logger handed to processors. Never throws, never blocks. */
export interface TaskLogger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** What a processor receives for one attempt of one instance. */
export interface TaskContext {
  readonly instanceId: string;
  readonly jobId: string;
  /** 1-based attempt number. */
  readonly attempt: number;
  readonly params: unknown;
  /** The intended fire time of the instance (epoch ms), not when it started. */
  readonly fireTimeMs: number;
  /** `${instanceId}:${attempt}`: stable across redeliveries of this attempt; use it for side effects. */
  readonly idempotencyKey: string;
  /** Aborted on timeout, cancellation or a hard worker stop; its `reason` is an AttemptAbortedError. */
  readonly signal: AbortSignal;
  /**
   * Records progress (an `InstanceProgressed` event). `fraction` is in [0, 1].
   * Rejects with AttemptEndedError when the attempt was ended meanwhile (timeout, cancel).
   * A function of its own: it may be taken out of the context (`const { progress } = ctx`).
   */
  readonly progress: (fraction?: number, note?: string) => Promise<void>;
  readonly log: TaskLogger;
}

/** Runs one attempt. Its resolved value becomes the instance's `result`; a throw fails the attempt. */
export type Processor = (ctx: TaskContext) => Promise<unknown>;

export interface WorkerOptions {
  runtime: Runtime;
  /** Worker group whose task subject this worker consumes (a job's `group`). */
  group: string;
  /** Processors by name (a job's `processor`). */
  processors: Record<string, Processor>;
  /** Stable id, letters/digits/`-`/`_`. Default: `<host>-<pid>-<random>`. */
  workerId?: string;
  /**
   * Max attempts run at once. Besides tasks waiting for their fire time (see `maxAhead`), the
   * worker never pulls more tasks than it has free slots. Default 16.
   */
  concurrency?: number;
  /**
   * Max tasks this worker holds before their fire time (the scheduler hands scheduled fires out
   * up to its `fireAheadMs` early; they wait here without taking a slot and start on time).
   * Default 10 000.
   */
  maxAhead?: number;
  /**
   * Claim a task held before its fire time this long ahead of that time: its start is recorded
   * then (InstanceStarted with `startsAtMs`), and at the fire time the worker only calls the
   * processor, so a tick shared by many jobs starts them all at once instead of after as many
   * start appends; the report then says when the processor began (`startedAtMs`). A claimed
   * attempt is this worker's: if the worker dies before running it, the supervisor finds the
   * worker lost and the job's retry policy decides (an unclaimed task would go to another worker);
   * a worker whose heartbeat may have lapsed since a claim (see Presence) does not run that attempt
   * at its time but reports it failed (`WorkerAbsent`): it may have been found lost meanwhile;
   * a drain waits for claimed attempts to run. 0 (default): never claimed ahead.
   */
  claimAheadMs?: number;
  /**
   * A task is run as soon as it is received, its start recorded only if its processor is still
   * running this long (ms) after it began (or reports progress, or times out); a run that ends
   * sooner records its start and outcome as one event: the report, with `startedAtMs`, guarded by
   * the dispatch's sequence as the start is. Of two workers running one attempt only one records
   * it, and a cancel still wins: its control message aborts the run, and the report is refused.
   * What is given up: until the start is recorded, the attempt shows as dispatched, and a run whose
   * instance was cancelled or its task taken by another worker meanwhile may have done its work
   * (processor runs are at least once per attempt either way). Only a first delivery of a task
   * younger than 5 s is run so (see UNRECORDED_RUN_MAX_AGE_MS); any other records its start first.
   * 0: every start is recorded before the processor runs. Default 200, at most 1000.
   */
  recordStartAfterMs?: number;
  /**
   * How far apart (ms) the clocks of the schedulers and this worker may be. A task is run before its
   * start is recorded only if it was dispatched at least this long after the worker began hearing
   * control messages (after it started or reconnected): a cancel announced before then may have
   * been missed. Default 1000.
   */
  maxClockSkewMs?: number;
  /**
   * Ack wait of the group's shared consumer in ms, set when this worker creates it (an existing
   * consumer keeps its own). In-progress acks are sent every third of it. Default 30 000.
   */
  ackWaitMs?: number;
  /** Interval of heartbeat puts in ms; keep it well inside the bucket TTL (3 s). Default 1000. */
  heartbeatMs?: number;
  /**
   * How long one pull request waits for tasks, in ms (min 1000). drain() may wait this long for an
   * outstanding pull to end. Default 5000.
   */
  pullExpiresMs?: number;
  /** Source of `atMs` for events and log lines. Default: the system clock. */
  clock?: { now(): number };
  /**
   * Told each time a processor is called, just before (e.g. to observe start lateness). It must
   * be quick; what it throws is logged, and the run goes on.
   */
  onRunBegan?: (run: RunBegan) => void;
  /** Reported in the heartbeat. Default: this package's version. */
  version?: string;
  log: Logger;
}

/** A processor about to be called: which attempt, when it was due, and when it began (epoch ms). */
export interface RunBegan {
  jobId: string;
  instanceId: string;
  attempt: number;
  /** The intended fire time of the instance. */
  fireTimeMs: number;
  beganAtMs: number;
}

/** Counters of one worker since it started. */
export interface WorkerStats {
  /** Attempts run to a report (recorded or refused). */
  completed: number;
  /** Tasks that were not JSON or did not fit the task schema; terminated. */
  malformed: number;
  /** Tasks not run because the instance had moved on before start. */
  skipped: number;
  /** Tasks of a message of several handed on to the group: more than this worker took on. */
  handedOn: number;
  /** Final reports refused because the attempt had ended meanwhile (timeout, cancel). */
  refusedReports: number;
  /** Control messages that could not be parsed. */
  badControls: number;
  /** Log lines that could not be published (queue full or publish failed). */
  droppedLogLines: number;
}

/** A new worker's counters: all zero. */
export function emptyWorkerStats(): WorkerStats {
  return {
    completed: 0,
    malformed: 0,
    skipped: 0,
    handedOn: 0,
    refusedReports: 0,
    badControls: 0,
    droppedLogLines: 0,
  };
}

export interface Worker {
  readonly workerId: string;
  /** Creates the group's consumer if needed, subscribes to control messages, starts heartbeats and pulling. */
  start(): Promise<void>;
  /** Stops pulling, lets running attempts finish and report, then stops heartbeats and deletes the heartbeat key. */
  drain(): Promise<void>;
  /**
   * Stops at once: aborts running processors (reason `shutdown`) without reporting or acking them,
   * so their tasks are redelivered and the supervisor sees the worker gone.
   */
  stop(): Promise<void>;
  /** Attempts currently held (starting, running or reporting). */
  running(): number;
  stats(): Readonly<WorkerStats>;
}
