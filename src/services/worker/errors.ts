import { JetschedError } from '../../events/errors.js';

/** Why a running attempt's AbortSignal fired. */
export const AbortReason = {
  Cancelled: 'cancelled',
  Timeout: 'timeout',
  Superseded: 'superseded',
  Shutdown: 'shutdown',
  /**
   * The attempt ran without its start recorded (see `recordStartAfterMs`), and recording it late
   * was refused: the instance had moved on (cancelled, timed out, or started by another worker).
   */
  MovedOn: 'moved-on',
} as const;
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason];

/** The `reason` of a processor's AbortSignal. */
export class AttemptAbortedError extends JetschedError {
  constructor(
    readonly instanceId: string,
    readonly attempt: number,
    readonly reason: AbortReason,
  ) {
    super('ATTEMPT_ABORTED', `attempt ${attempt} of instance ${instanceId} aborted: ${reason}`);
  }
}

/** An append for an attempt that has already ended (timed out, cancelled, or taken over) was refused. */
export class AttemptEndedError extends JetschedError {
  constructor(
    readonly instanceId: string,
    readonly attempt: number,
    cause?: unknown,
  ) {
    super(
      'ATTEMPT_ENDED',
      `attempt ${attempt} of instance ${instanceId} has ended; nothing more is recorded for it`,
      {
        cause,
      },
    );
  }
}

/** The task names a processor this worker does not have. Recorded as the attempt's error (name `UnknownProcessor`). */
export class UnknownProcessorError extends JetschedError {
  constructor(
    readonly processor: string,
    known: readonly string[],
  ) {
    super(
      'UNKNOWN_PROCESSOR',
      `no processor ${JSON.stringify(processor)} in this worker (has ${known.map((k) => JSON.stringify(k)).join(', ') || 'none'})`,
    );
    this.name = 'UnknownProcessor';
  }
}

/**
 * A claimed attempt was not run: this worker's heartbeat may have lapsed since it claimed it, so a
 * supervisor may have found it lost and handed the job on. Recorded as the attempt's error (name
 * `WorkerAbsent`); the job's retry policy decides what follows.
 */
export class WorkerAbsentError extends JetschedError {
  constructor(
    readonly instanceId: string,
    readonly attempt: number,
  ) {
    super(
      'WORKER_ABSENT',
      `attempt ${attempt} of instance ${instanceId} not run: this worker's heartbeat may have lapsed since it claimed the attempt (stopped or cut off for about the heartbeat TTL), so it may have been found lost meanwhile`,
    );
    this.name = 'WorkerAbsent';
  }
}
