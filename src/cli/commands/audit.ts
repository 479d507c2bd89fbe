import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import type { EventStore, RawStoredEvent } from '../../events/event-store.js';
import { parseAuditFlags, type AuditFlags, type AuditOptions } from '../audit/options.js';
import { resolveSelection } from '../audit/selection.js';
import {
  formatJsonLine,
  formatTimelineLine,
  timelineEntries,
  type BatchPlace,
} from '../audit/timeline.js';
import { BATCHES } from '../../events/batches.js';
import type { CliDeps } from '../deps.js';
import { writeLine } from '../output.js';

export function registerAudit(program: Command, deps: CliDeps): void {
  program
    .command('audit')
    .description('print stored events in stream order, straight from the event stream')
    .addOption(new Option('--job <jobId>', "a job's events and those of all its instances"))
    .addOption(
      new Option(
        '--instance <instanceId>',
        "an instance's events and the JobFired that created it",
      ),
    )
    .option('--since <time>', 'stored at or after: ISO 8601 time or a duration ago, e.g. 10m')
    .option('--until <time>', 'stored at or before: ISO 8601 time or a duration ago')
    .option('--from-seq <seq>', 'first stream sequence')
    .option('--to-seq <seq>', 'last stream sequence')
    .option('--type <types>', 'comma-separated event types, e.g. JobFired,InstanceFailed')
    .option('--json', 'JSON lines: {"seq","subject","storedAt","event"}')
    .action(async (flags: AuditFlags, cmd: Command) => {
      const opts = parseAuditFlags(flags, deps.nowMs());
      const { printed } = await deps.withRuntime(cmd, (rt) =>
        runAudit(rt.store, opts, deps.stdout),
      );
      if (printed === 0 && !opts.json) deps.stderr.write('no events match\n');
    });
}

/** Reads the selected events from the stream and writes them to `out`, one line each, in stream order. */
export async function runAudit(
  store: EventStore,
  opts: AuditOptions,
  out: Writable,
): Promise<{ printed: number }> {
  const selection = await resolveSelection(store, opts.selector);
  let printed = 0;
  const events = store.replay({
    filterSubjects: selection.filterSubjects,
    ...(opts.fromSeq !== undefined && { fromSeq: opts.fromSeq }),
    ...(opts.toSeq !== undefined && { toSeq: opts.toSeq }),
    ...(opts.sinceMs !== undefined && { fromTimeMs: opts.sinceMs }),
    ...(opts.untilMs !== undefined && { toTimeMs: opts.untilMs }),
  });
  for await (const raw of events) {
    // JSON lines show the message as appended (a batch whole); the timeline, each of its elements.
    const entries = opts.json ? [{ raw, batch: undefined }] : timelineEntries(raw);
    for (const { raw: entry, batch } of entries) {
      if (!selection.keep(entry) || !withinFilters(entry, opts, batch)) continue;
      await writeLine(out, opts.json ? formatJsonLine(entry) : formatTimelineLine(entry, batch));
      printed++;
    }
  }
  return { printed };
}

/**
 * The time bounds once more (stored times may step back after a leader change) and the type
 * filter. An element read from a batch is an event of its element type and of the batch's:
 * `--type` names either (JobFired or JobFiredBatch; JobTriggerRequested or
 * JobTriggerRequestedBatch).
 */
function withinFilters(raw: RawStoredEvent, opts: AuditOptions, batch?: BatchPlace): boolean {
  if (opts.sinceMs !== undefined && raw.storedAtMs < opts.sinceMs) return false;
  if (opts.untilMs !== undefined && raw.storedAtMs > opts.untilMs) return false;
  if (!opts.types) return true;
  if (!raw.decoded.ok) return false;
  const { type } = raw.decoded.event;
  if (opts.types.has(type)) return true;
  for (const [batchType, elementType] of BATCHES) {
    const ofBatch = type === batchType || (batch !== undefined && type === elementType);
    if (ofBatch && (opts.types.has(batchType) || opts.types.has(elementType))) return true;
  }
  return false;
}
