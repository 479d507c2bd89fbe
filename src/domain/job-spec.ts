import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { durationMs } from '../schedule/duration.js';
import { boundedMemo } from '../schedule/bounded-memo.js';
import { isValidTimeZone } from '../schedule/time-zone.js';

/** Names used in subjects: letters, digits, '-' and '_' only (no '.', '*', '>' or spaces). */
export const tokenSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, 'use 1–80 letters, digits, "-" or "_"');

export const MisfirePolicy = { FireOnce: 'fire-once', FireAll: 'fire-all', Skip: 'skip' } as const;
export type MisfirePolicy = (typeof MisfirePolicy)[keyof typeof MisfirePolicy];

export const OverlapPolicy = {
  Allow: 'allow',
  Skip: 'skip',
  BufferOne: 'buffer-one',
  CancelPrevious: 'cancel-previous',
} as const;
export type OverlapPolicy = (typeof OverlapPolicy)[keyof typeof OverlapPolicy];

// ---- the stored (normalised) shape: what events carry -------------------------------------

export const scheduleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('cron'), cron: z.string(), tz: z.string() }),
  z.strictObject({ kind: z.literal('every'), everyMs: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('fixedDelay'), delayMs: z.number().int().positive() }),
  z.strictObject({ kind: z.literal('at'), atMs: z.number().int() }),
  z.strictObject({ kind: z.literal('manual') }),
]);
export type Schedule = z.infer<typeof scheduleSchema>;

export const retryPolicySchema = z.strictObject({
  /** Total attempts including the first (1 = no retry). */
  maxAttempts: z.number().int().min(1).max(1000),
  backoff: z.enum(['fixed', 'exponential']),
  initialDelayMs: z.number().int().min(0),
  maxDelayMs: z.number().int().min(0),
  /** Fraction of the delay randomised away (0 = none, 0.2 = up to 20 % shorter). */
  jitter: z.number().min(0).max(1),
});
export type RetryPolicy = z.infer<typeof retryPolicySchema>;

export const jobSpecSchema = z.strictObject({
  name: tokenSchema,
  group: tokenSchema,
  processor: z.string().min(1).max(200),
  params: z.unknown(),
  schedule: scheduleSchema,
  timeoutMs: z.number().int().positive().optional(),
  retry: retryPolicySchema,
  overlap: z.enum(['allow', 'skip', 'buffer-one', 'cancel-previous']),
  maxConcurrent: z.number().int().positive().optional(),
  misfire: z.enum(['fire-once', 'fire-all', 'skip']),
  /** Upper bound of missed ticks fired under the "fire-all" misfire policy. */
  maxCatchUp: z.number().int().positive(),
  /** Higher runs first when a worker group is saturated. */
  priority: z.number().int().min(0).max(9),
  enabled: z.boolean(),
  startAtMs: z.number().int().optional(),
  endAtMs: z.number().int().optional(),
  maxRuns: z.number().int().positive().optional(),
  description: z.string().max(1000).optional(),
});
export type JobSpec = z.infer<typeof jobSpecSchema>;

// ---- the input shape: what users write (JSON/YAML, CLI flags, command payloads) -----------

const isoInstantMs = z.union([z.string(), z.number()]).transform((raw, ctx) => {
  const ms = typeof raw === 'number' ? raw : Date.parse(raw);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid instant ${JSON.stringify(raw)}: use ISO 8601, e.g. "2026-12-01T08:00:00Z"`,
    });
    return z.NEVER;
  }
  return ms;
});

/**
 * What cron-parser finds wrong with an expression in a zone (the key: the zone, a space, the
 * expression), undefined when nothing: remembered, since parsing one costs ~100 µs and many jobs
 * share a few expressions.
 */
const cronProblemOf = boundedMemo(1000, (key: string): string | undefined => {
  const at = key.indexOf(' ');
  try {
    CronExpressionParser.parse(key.slice(at + 1), { tz: key.slice(0, at), strict: false });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
});
const cronProblem = (cron: string, tz: string) => cronProblemOf(`${tz} ${cron}`);

const cronInputSchema = z
  .strictObject({ cron: z.string().min(1), tz: z.string().default('UTC') })
  .superRefine((s, ctx) => {
    if (!isValidTimeZone(s.tz)) {
      ctx.addIssue({
        code: 'custom',
        path: ['tz'],
        message: `unknown time zone ${JSON.stringify(s.tz)}: use an IANA name like "Europe/Berlin"`,
      });
      return;
    }
    const problem = cronProblem(s.cron, s.tz);
    if (problem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['cron'],
        message: `invalid cron expression ${JSON.stringify(s.cron)}: ${problem}`,
      });
    }
  })
  .transform((s): Schedule => ({ kind: 'cron', cron: s.cron, tz: s.tz }));

const scheduleBranches = {
  cron: cronInputSchema,
  every: z
    .strictObject({ every: durationMs({ min: 1 }) })
    .transform((s): Schedule => ({ kind: 'every', everyMs: s.every })),
  fixedDelay: z
    .strictObject({ fixedDelay: durationMs({ min: 1 }) })
    .transform((s): Schedule => ({ kind: 'fixedDelay', delayMs: s.fixedDelay })),
  at: z.strictObject({ at: isoInstantMs }).transform((s): Schedule => ({ kind: 'at', atMs: s.at })),
  manual: z
    .strictObject({ manual: z.literal(true) })
    .transform((): Schedule => ({ kind: 'manual' })),
} as const;
const SCHEDULE_KINDS = Object.keys(scheduleBranches) as (keyof typeof scheduleBranches)[];

/**
 * One of `{ cron, tz? }`, `{ every }`, `{ fixedDelay }`, `{ at }`, `{ manual: true }`. The kind is
 * chosen by the key present, so errors name the offending field instead of "no union matched".
 */
export const scheduleInputSchema = z.unknown().transform((raw, ctx): Schedule => {
  const kinds = raw && typeof raw === 'object' ? SCHEDULE_KINDS.filter((k) => k in raw) : [];
  if (kinds.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      message:
        kinds.length === 0
          ? `give one of ${SCHEDULE_KINDS.map((k) => `"${k}"`).join(', ')}`
          : `give only one of ${kinds.map((k) => `"${k}"`).join(', ')}`,
    });
    return z.NEVER;
  }
  const result = scheduleBranches[kinds[0]!].safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ ...issue, path: issue.path });
  return z.NEVER;
});

const retryInputSchema = z
  .strictObject({
    maxAttempts: z.number().int().min(1).max(1000).default(1),
    backoff: z.enum(['fixed', 'exponential']).default('exponential'),
    initialDelay: durationMs().default(1000),
    maxDelay: durationMs().default(60_000),
    jitter: z.number().min(0).max(1).default(0.2),
  })
  .transform((r): RetryPolicy => ({
    maxAttempts: r.maxAttempts,
    backoff: r.backoff,
    initialDelayMs: r.initialDelay,
    maxDelayMs: Math.max(r.maxDelay, r.initialDelay),
    jitter: r.jitter,
  }));

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 1,
  backoff: 'exponential',
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  jitter: 0.2,
};

/** A job as users write it. Unknown fields are errors, so a typo never passes silently. */
export const jobSpecInputSchema = z
  .strictObject({
    name: tokenSchema,
    group: tokenSchema.default('default'),
    processor: z.string().min(1).max(200),
    params: z.unknown().default({}),
    schedule: scheduleInputSchema,
    timeout: durationMs({ min: 1 }).optional(),
    retry: retryInputSchema.optional(),
    overlap: z.enum(['allow', 'skip', 'buffer-one', 'cancel-previous']).default('allow'),
    maxConcurrent: z.number().int().positive().optional(),
    misfire: z.enum(['fire-once', 'fire-all', 'skip']).default('fire-once'),
    maxCatchUp: z.number().int().positive().max(100_000).default(1000),
    priority: z.number().int().min(0).max(9).default(0),
    enabled: z.boolean().default(true),
    start: isoInstantMs.optional(),
    end: isoInstantMs.optional(),
    maxRuns: z.number().int().positive().optional(),
    description: z.string().max(1000).optional(),
  })
  .superRefine((j, ctx) => {
    if (j.start !== undefined && j.end !== undefined && j.end <= j.start) {
      ctx.addIssue({ code: 'custom', path: ['end'], message: 'end must be after start' });
    }
  })
  .transform((j): JobSpec => ({
    name: j.name,
    group: j.group,
    processor: j.processor,
    params: j.params,
    schedule: j.schedule,
    ...(j.timeout !== undefined && { timeoutMs: j.timeout }),
    retry: j.retry ?? DEFAULT_RETRY,
    overlap: j.overlap,
    ...(j.maxConcurrent !== undefined && { maxConcurrent: j.maxConcurrent }),
    misfire: j.misfire,
    maxCatchUp: j.maxCatchUp,
    priority: j.priority,
    enabled: j.enabled,
    ...(j.start !== undefined && { startAtMs: j.start }),
    ...(j.end !== undefined && { endAtMs: j.end }),
    ...(j.maxRuns !== undefined && { maxRuns: j.maxRuns }),
    ...(j.description !== undefined && { description: j.description }),
  }));
export type JobSpecInput = z.input<typeof jobSpecInputSchema>;
