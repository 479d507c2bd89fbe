import { z } from 'zod';
import { message } from '../events/envelope.js';
import { durationMs } from '../schedule/duration.js';
import { jobSpecInputSchema, tokenSchema } from './job-spec.js';

const instanceId = z.string().min(1).max(200);
const instant = z.union([z.string(), z.number()]).transform((raw, ctx) => {
  const ms = typeof raw === 'number' ? raw : Date.parse(raw);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid instant ${JSON.stringify(raw)}: use ISO 8601`,
    });
    return z.NEVER;
  }
  return ms;
});
/** Params are JSON and bounded, so one command cannot blow up an event. */
export const MAX_PARAMS_BYTES = 64 * 1024;
const params = z
  .unknown()
  .superRefine((p, ctx) => {
    if (p === undefined) return;
    const size = Buffer.byteLength(JSON.stringify(p) ?? '');
    if (size > MAX_PARAMS_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `params are ${size} bytes, over the limit of ${MAX_PARAMS_BYTES} bytes`,
      });
    }
  })
  .optional();
const target = z
  .strictObject({
    jobId: tokenSchema.optional(),
    all: z.literal(true).optional(),
    note: z.string().max(500).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.jobId === undefined) === (t.all === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['jobId'], message: 'give either jobId or all: true' });
    }
  });

export const RegisterJob = message('RegisterJob', 1, z.strictObject({ spec: jobSpecInputSchema }));
export const PauseJob = message('PauseJob', 1, target);
export const ResumeJob = message('ResumeJob', 1, target);
export const DeleteJob = message('DeleteJob', 1, z.strictObject({ jobId: tokenSchema }));
/** One trigger of a job: what TriggerJob carries, and each element of TriggerJobs. */
const trigger = z
  .strictObject({
    jobId: tokenSchema,
    params,
    /** Fire after this delay ("30s", ms); durable: survives restarts. */
    delay: durationMs().optional(),
    /** Or fire at this instant. */
    at: instant.optional(),
    /**
     * Idempotency: the same triggerId fires once. Default: the command id (in TriggerJobs, the
     * command id and the trigger's index).
     */
    triggerId: tokenSchema.optional(),
  })
  .superRefine((t, ctx) => {
    if (t.delay !== undefined && t.at !== undefined)
      ctx.addIssue({ code: 'custom', path: ['at'], message: 'give delay or at, not both' });
  });
export const TriggerJob = message('TriggerJob', 1, trigger);

/** The most triggers one TriggerJobs command carries. */
export const MAX_TRIGGERS_PER_COMMAND = 1000;

/**
 * Many triggers in one command (of one job or several), as a producer that has a list to hand
 * over sends them: validated together and refused together (naming the trigger), then appended
 * at once, each its own JobTriggerRequested.
 */
export const TriggerJobs = message(
  'TriggerJobs',
  1,
  z.strictObject({ triggers: z.array(trigger).min(1).max(MAX_TRIGGERS_PER_COMMAND) }),
);
export const CancelInstance = message(
  'CancelInstance',
  1,
  z.strictObject({ instanceId, reason: z.string().max(500).optional() }),
);
export const RetryInstance = message('RetryInstance', 1, z.strictObject({ instanceId, params }));
export const BackfillJob = message(
  'BackfillJob',
  1,
  z.strictObject({ jobId: tokenSchema, from: instant, to: instant }).superRefine((b, ctx) => {
    if (b.to < b.from)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
  }),
);

export const commandSchemas = [
  RegisterJob,
  PauseJob,
  ResumeJob,
  DeleteJob,
  TriggerJob,
  TriggerJobs,
  CancelInstance,
  RetryInstance,
  BackfillJob,
] as const;
export const commandSchema = z.discriminatedUnion('type', [...commandSchemas]);
export type Command = z.infer<typeof commandSchema>;
export type CommandInput = z.input<typeof commandSchema>;
export type CommandType = Command['type'];
export type CommandOf<T extends CommandType> = Extract<Command, { type: T }>;
export const COMMAND_TYPES: readonly CommandType[] = commandSchemas.map((s) => s.shape.type.value);

/** At most this many ticks are backfilled by one command. */
export const MAX_BACKFILL_TICKS = 10_000;
