import { z } from 'zod';
import { jobSpecSchema, tokenSchema } from '../domain/job-spec.js';
import { message } from './envelope.js';
import { dispatchSpecSchema } from './instance-events.js';

const jobId = tokenSchema;
const instanceId = z.string().min(1).max(200);

export const FireReason = {
  Schedule: 'schedule',
  CatchUp: 'catch-up',
  Manual: 'manual',
  Backfill: 'backfill',
  Rerun: 'rerun',
} as const;
export type FireReason = (typeof FireReason)[keyof typeof FireReason];

export const JobDefined = message(
  'JobDefined',
  1,
  z.strictObject({ jobId, spec: jobSpecSchema, createdAtMs: z.number().int() }),
);
export const JobUpdated = message('JobUpdated', 1, z.strictObject({ jobId, spec: jobSpecSchema }));
export const JobPaused = message(
  'JobPaused',
  1,
  z.strictObject({ jobId, note: z.string().max(500).optional() }),
);
export const JobResumed = message('JobResumed', 1, z.strictObject({ jobId }));
export const JobDeleted = message('JobDeleted', 1, z.strictObject({ jobId }));

/** What one fire records besides its job: a JobFired's data, or one fire of a JobFiredBatch. */
const fireFields = {
  instanceId,
  /** The intended fire time (the tick), not when it was written. */
  fireTimeMs: z.number().int(),
  reason: z.enum(['schedule', 'catch-up', 'manual', 'backfill', 'rerun']),
  /** 1-based count of fires of this job including this one. */
  runNumber: z.number().int().positive(),
  params: z.unknown().optional(),
  /** For reruns: the instance this one repeats. */
  rerunOf: instanceId.optional(),
  /**
   * Set when the fire's first attempt was handed to the job's worker group with the fire itself
   * (the usual case): the instance's own subject then stays empty until a worker starts it, and
   * that start (or a cancel) is appended expecting the subject to be empty. Unset when the fire
   * is held back (buffered by the overlap policy): an InstanceDispatched follows later.
   */
  dispatch: dispatchSpecSchema.optional(),
};

/** One occurrence of a job: exactly once per (jobId, fireTimeMs), enforced by the stream. */
export const JobFired = message('JobFired', 1, z.strictObject({ jobId, ...fireFields }));

/** The most fires one JobFiredBatch holds. */
export const MAX_FIRES_PER_BATCH = 256;

/**
 * Several fires of one job recorded by one append: triggers (manual, delayed, backfill, rerun)
 * that fell due together. Each element holds what the JobFired of that fire would hold, without
 * the job id, and folding the batch is folding those JobFired in order. A job's fires are serial
 * on its subject (each append expects the last sequence), so a burst of triggers on one job is
 * fired one round trip per batch instead of one per trigger.
 */
export const JobFiredBatch = message(
  'JobFiredBatch',
  1,
  z.strictObject({
    jobId,
    fires: z.array(z.strictObject(fireFields)).min(1).max(MAX_FIRES_PER_BATCH),
  }),
);

/** Ticks that were deliberately not fired (misfire or overlap policy), recorded so nothing vanishes. */
export const JobFiresSkipped = message(
  'JobFiresSkipped',
  1,
  z.strictObject({
    jobId,
    reason: z.enum(['misfire', 'overlap', 'max-concurrent', 'window']),
    count: z.number().int().positive(),
    firstFireTimeMs: z.number().int(),
    lastFireTimeMs: z.number().int(),
  }),
);

/** What one trigger records besides its job: a JobTriggerRequested's data, or one of a batch's. */
const triggerFields = {
  triggerId: tokenSchema,
  dueAtMs: z.number().int(),
  reason: z.enum(['manual', 'backfill', 'rerun']),
  params: z.unknown().optional(),
  rerunOf: instanceId.optional(),
  /** For backfill: the intended tick this trigger stands for. */
  fireTimeMs: z.number().int().optional(),
};

/** A durable request to fire a job later (or now); it survives restarts because it is an event. */
export const JobTriggerRequested = message(
  'JobTriggerRequested',
  1,
  z.strictObject({ jobId, ...triggerFields }),
);

/** The most triggers one JobTriggerRequestedBatch holds (a TriggerJobs command's most). */
export const MAX_TRIGGERS_PER_BATCH = 1000;

/**
 * Several triggers of one job requested by one append: those of one TriggerJobs command that
 * took their trigger ids from the command (see decideTriggers). Each element holds what that
 * trigger's JobTriggerRequested would hold, without the job id, and folding the batch is folding
 * those events in order.
 */
export const JobTriggerRequestedBatch = message(
  'JobTriggerRequestedBatch',
  1,
  z.strictObject({
    jobId,
    triggers: z.array(z.strictObject(triggerFields)).min(1).max(MAX_TRIGGERS_PER_BATCH),
  }),
);

export const jobEventSchemas = [
  JobDefined,
  JobUpdated,
  JobPaused,
  JobResumed,
  JobDeleted,
  JobFired,
  JobFiredBatch,
  JobFiresSkipped,
  JobTriggerRequested,
  JobTriggerRequestedBatch,
] as const;
