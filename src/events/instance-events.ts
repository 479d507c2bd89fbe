import { z } from 'zod';
import { tokenSchema } from '../domain/job-spec.js';
import { message } from './envelope.js';

const instanceId = z.string().min(1).max(200);
const attempt = z.number().int().positive();
const workerId = z.string().min(1).max(200);

export const errorInfoSchema = z.strictObject({
  name: z.string().max(200),
  message: z.string().max(10_000),
  stack: z.string().max(20_000).optional(),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;

/** What an attempt is handed to its worker group with (in InstanceDispatched, or a JobFired's `dispatch`). */
export const dispatchSpecSchema = z.strictObject({
  group: tokenSchema,
  processor: z.string().min(1).max(200),
  /** The params the attempt runs with (the trigger's, else the job's). */
  params: z.unknown().optional(),
  timeoutMs: z.number().int().positive().optional(),
  priority: z.number().int().min(0).max(9),
});
export type DispatchSpec = z.infer<typeof dispatchSpecSchema>;

/** An attempt handed to the job's worker group (a task message goes out with it). */
export const InstanceDispatched = message(
  'InstanceDispatched',
  1,
  z.strictObject({
    instanceId,
    jobId: tokenSchema,
    attempt,
    fireTimeMs: z.number().int(),
    ...dispatchSpecSchema.shape,
  }),
);
/**
 * A worker took the attempt and begins running it, or (with `startsAtMs`) claimed it ahead of its
 * fire time and runs it from then: the claim is what makes the worker the attempt's only runner.
 */
export const InstanceStarted = message(
  'InstanceStarted',
  1,
  z.strictObject({
    instanceId,
    attempt,
    workerId,
    startsAtMs: z.number().int().optional(),
    /**
     * Recorded while the processor already ran (a run past its worker's `recordStartAfterMs`):
     * when it began.
     */
    beganAtMs: z.number().int().optional(),
  }),
);
/**
 * When the processor really began: of an attempt claimed ahead (InstanceStarted.startsAtMs), or of
 * one whose start this report records (a run that ended before its worker's `recordStartAfterMs`:
 * the attempt then has no InstanceStarted, and this report is guarded by the dispatch's sequence).
 */
const ranFrom = { startedAtMs: z.number().int().optional() };
export const InstanceProgressed = message(
  'InstanceProgressed',
  1,
  z.strictObject({
    instanceId,
    attempt,
    workerId,
    progress: z.number().min(0).max(1).optional(),
    note: z.string().max(2000).optional(),
  }),
);
export const InstanceSucceeded = message(
  'InstanceSucceeded',
  1,
  z.strictObject({ instanceId, attempt, workerId, result: z.unknown().optional(), ...ranFrom }),
);
/** One attempt threw; the supervisor decides whether to retry. */
export const InstanceAttemptFailed = message(
  'InstanceAttemptFailed',
  1,
  z.strictObject({ instanceId, attempt, workerId, error: errorInfoSchema, ...ranFrom }),
);
/** The attempt ran past the job's timeout; its late report will be refused. */
export const InstanceTimedOut = message(
  'InstanceTimedOut',
  1,
  z.strictObject({ instanceId, attempt, timeoutMs: z.number().int().positive() }),
);
/** The worker running the attempt stopped heartbeating. */
export const InstanceWorkerLost = message(
  'InstanceWorkerLost',
  1,
  z.strictObject({ instanceId, attempt, workerId }),
);
export const InstanceRetryScheduled = message(
  'InstanceRetryScheduled',
  1,
  z.strictObject({
    instanceId,
    /** The attempt that will run next. */
    attempt,
    dueAtMs: z.number().int(),
    reason: z.enum(['error', 'timeout', 'worker-lost']),
  }),
);
/** Terminal: the last attempt failed (by error, timeout or worker loss) and no retry is left. */
export const InstanceFailed = message(
  'InstanceFailed',
  1,
  z.strictObject({
    instanceId,
    attempt,
    reason: z.enum(['error', 'timeout', 'worker-lost']),
    error: errorInfoSchema.optional(),
  }),
);
/** Terminal: stopped on request; a running processor is aborted through its AbortSignal. */
export const InstanceCancelled = message(
  'InstanceCancelled',
  1,
  z.strictObject({ instanceId, reason: z.string().max(500).optional() }),
);

export const instanceEventSchemas = [
  InstanceDispatched,
  InstanceStarted,
  InstanceProgressed,
  InstanceSucceeded,
  InstanceAttemptFailed,
  InstanceTimedOut,
  InstanceWorkerLost,
  InstanceRetryScheduled,
  InstanceFailed,
  InstanceCancelled,
] as const;

export const TERMINAL_INSTANCE_EVENTS = [
  'InstanceSucceeded',
  'InstanceFailed',
  'InstanceCancelled',
] as const;
