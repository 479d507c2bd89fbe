import { tokenSchema } from '../../domain/job-spec.js';
import { EVENT_TYPES, type EventType } from '../../events/event.js';
import { invalidOption } from '../errors.js';
import { parseInstantOrAgo, parseList, parsePositiveInt } from '../parse.js';

/** Which aggregates to read; see resolveSelection for the subjects each one reads. */
export type AuditSelector =
  { kind: 'all' } | { kind: 'job'; jobId: string } | { kind: 'instance'; instanceId: string };

export interface AuditOptions {
  selector: AuditSelector;
  /** Stream sequence bounds, inclusive. */
  fromSeq?: number;
  toSeq?: number;
  /** Stored-at time bounds (server clock), epoch ms, inclusive. */
  sinceMs?: number;
  untilMs?: number;
  /** Only these event types (undecodable messages are then left out too). */
  types?: ReadonlySet<EventType>;
  /** JSON lines instead of the readable timeline. */
  json: boolean;
}

/** The flags of `jetsched audit` as commander hands them over. */
export interface AuditFlags {
  job?: string;
  instance?: string;
  since?: string;
  until?: string;
  fromSeq?: string;
  toSeq?: string;
  type?: string;
  json?: boolean;
}

const INSTANCE_ID = /^[^\s.*>]{1,200}$/;
const isEventType = (t: string): t is EventType => EVENT_TYPES.has(t);

/** Checks the flags; relative times ("10m") count back from `nowMs`. Throws ValidationError (exit 2). */
export function parseAuditFlags(flags: AuditFlags, nowMs: number): AuditOptions {
  const opts: AuditOptions = { selector: selectorOf(flags), json: flags.json === true };
  if (flags.fromSeq !== undefined) opts.fromSeq = parsePositiveInt('--from-seq', flags.fromSeq);
  if (flags.toSeq !== undefined) opts.toSeq = parsePositiveInt('--to-seq', flags.toSeq);
  if (flags.since !== undefined) opts.sinceMs = parseInstantOrAgo('--since', flags.since, nowMs);
  if (flags.until !== undefined) opts.untilMs = parseInstantOrAgo('--until', flags.until, nowMs);
  if (opts.fromSeq !== undefined && opts.toSeq !== undefined && opts.fromSeq > opts.toSeq) {
    throw invalidOption('--to-seq', `must not be below --from-seq ${opts.fromSeq}`);
  }
  if (opts.sinceMs !== undefined && opts.untilMs !== undefined && opts.sinceMs > opts.untilMs) {
    throw invalidOption('--until', 'must not be before --since');
  }
  if (flags.type !== undefined) {
    const names = parseList(flags.type);
    const unknown = names.filter((t) => !isEventType(t));
    if (unknown.length || !names.length) {
      throw invalidOption(
        '--type',
        `unknown event type ${unknown.map((t) => JSON.stringify(t)).join(', ') || '""'}; known: ${[...EVENT_TYPES].join(', ')}`,
      );
    }
    opts.types = new Set(names.filter(isEventType));
  }
  return opts;
}

function selectorOf(flags: AuditFlags): AuditSelector {
  if (flags.job !== undefined && flags.instance !== undefined) {
    throw invalidOption('--instance', 'give either --job or --instance, not both');
  }
  if (flags.job !== undefined) {
    if (!tokenSchema.safeParse(flags.job).success)
      throw invalidOption('--job', 'a job id has 1–80 letters, digits, "-" or "_"');
    return { kind: 'job', jobId: flags.job };
  }
  if (flags.instance !== undefined) {
    if (!INSTANCE_ID.test(flags.instance)) {
      throw invalidOption(
        '--instance',
        'an instance id has 1–200 characters and no spaces, ".", "*" or ">"',
      );
    }
    return { kind: 'instance', instanceId: flags.instance };
  }
  return { kind: 'all' };
}
