import type { Schedule } from '../../domain/job-spec.js';
import type { RawStoredEvent } from '../../events/event-store.js';
import type { JetschedEvent } from '../../events/event.js';
import { isBatch, unbatched } from '../../events/batches.js';
import type { DispatchSpec, ErrorInfo } from '../../events/instance-events.js';
import { formatDurationMs } from '../../schedule/duration.js';

const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

/** Free text on one line, at most `max` characters. */
export function oneLine(text: string, max = Number.POSITIVE_INFINITY): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function describeSchedule(s: Schedule): string {
  switch (s.kind) {
    case 'cron':
      return `cron "${s.cron}" ${s.tz}`;
    case 'every':
      return `every ${formatDurationMs(s.everyMs)}`;
    case 'fixedDelay':
      return `fixed delay ${formatDurationMs(s.delayMs)}`;
    case 'at':
      return `at ${iso(s.atMs)}`;
    case 'manual':
      return 'manual';
    default: {
      const never: never = s;
      return String(never);
    }
  }
}

const NOTE_MAX = 160;
const describeError = (e: ErrorInfo): string => oneLine(`${e.name}: ${e.message}`, NOTE_MAX);

/** An attempt handed to a worker group: by InstanceDispatched, or by the JobFired of a first attempt. */
/** A report that says when its run began (claimed ahead, or its start recorded by the report). */
function ranFrom(d: { startedAtMs?: number | undefined }): string {
  return d.startedAtMs === undefined ? '' : ` (began ${iso(d.startedAtMs)})`;
}

function dispatchText(attempt: number, d: DispatchSpec): string {
  const timeout = d.timeoutMs === undefined ? '' : `, timeout ${formatDurationMs(d.timeoutMs)}`;
  return `attempt ${attempt} dispatched to group ${d.group} (${d.processor}, priority ${d.priority}${timeout})`;
}

/** The aggregate an event belongs to and a compact summary of what it says. */
export function summarize(event: JetschedEvent): { id: string; text: string } {
  switch (event.type) {
    case 'JobDefined':
    case 'JobUpdated': {
      const { spec } = event.data;
      const verb = event.type === 'JobDefined' ? 'defined' : 'updated';
      const flags = [
        spec.enabled ? '' : ', disabled',
        spec.maxRuns === undefined ? '' : `, max ${spec.maxRuns} runs`,
      ].join('');
      return {
        id: event.data.jobId,
        text: `${verb}: ${describeSchedule(spec.schedule)} → ${spec.processor} in group ${spec.group}${flags}`,
      };
    }
    case 'JobPaused':
      return {
        id: event.data.jobId,
        text: event.data.note ? `paused: ${oneLine(event.data.note, NOTE_MAX)}` : 'paused',
      };
    case 'JobResumed':
      return { id: event.data.jobId, text: 'resumed' };
    case 'JobDeleted':
      return { id: event.data.jobId, text: 'deleted' };
    case 'JobFired': {
      const d = event.data;
      const rerun = d.rerunOf ? `, rerun of ${d.rerunOf}` : '';
      const dispatch = d.dispatch ? `; ${dispatchText(1, d.dispatch)}` : '';
      return {
        id: d.jobId,
        text: `fire ${iso(d.fireTimeMs)} (${d.reason}) → ${d.instanceId}${rerun}${dispatch}`,
      };
    }
    case 'JobFiredBatch': {
      const ids = event.data.fires.map((f) => f.instanceId);
      return { id: event.data.jobId, text: `${ids.length} fires → ${ids.join(', ')}` };
    }
    case 'JobFiresSkipped': {
      const d = event.data;
      const span =
        d.count === 1
          ? iso(d.firstFireTimeMs)
          : `${iso(d.firstFireTimeMs)} … ${iso(d.lastFireTimeMs)}`;
      return {
        id: d.jobId,
        text: `skipped ${d.count} fire${d.count === 1 ? '' : 's'} (${d.reason}) ${span}`,
      };
    }
    case 'JobTriggerRequested': {
      const d = event.data;
      const tick = d.fireTimeMs === undefined ? '' : `, tick ${iso(d.fireTimeMs)}`;
      const rerun = d.rerunOf ? `, rerun of ${d.rerunOf}` : '';
      return {
        id: d.jobId,
        text: `trigger ${d.triggerId} (${d.reason}) due ${iso(d.dueAtMs)}${tick}${rerun}`,
      };
    }
    case 'JobTriggerRequestedBatch': {
      const ids = event.data.triggers.map((t) => t.triggerId);
      return { id: event.data.jobId, text: `${ids.length} triggers ${ids.join(', ')}` };
    }
    case 'InstanceDispatched':
      return { id: event.data.instanceId, text: dispatchText(event.data.attempt, event.data) };
    case 'InstanceStarted': {
      const d = event.data;
      const began = d.beganAtMs === undefined ? '' : `, began ${iso(d.beganAtMs)}`;
      return {
        id: d.instanceId,
        text:
          d.startsAtMs === undefined
            ? `attempt ${d.attempt} started on ${d.workerId}${began}`
            : `attempt ${d.attempt} claimed by ${d.workerId}, starts ${iso(d.startsAtMs)}`,
      };
    }
    case 'InstanceProgressed': {
      const d = event.data;
      const parts = [
        d.progress === undefined ? '' : `${+(d.progress * 100).toFixed(1)}%`,
        d.note ? oneLine(d.note, NOTE_MAX) : '',
      ];
      return {
        id: d.instanceId,
        text: `attempt ${d.attempt} progress ${parts.filter(Boolean).join(' ') || '(no detail)'}`,
      };
    }
    case 'InstanceSucceeded':
      return {
        id: event.data.instanceId,
        text: `attempt ${event.data.attempt} succeeded on ${event.data.workerId}${ranFrom(event.data)}`,
      };
    case 'InstanceAttemptFailed': {
      const d = event.data;
      return {
        id: d.instanceId,
        text: `attempt ${d.attempt} failed on ${d.workerId}${ranFrom(d)}: ${describeError(d.error)}`,
      };
    }
    case 'InstanceTimedOut':
      return {
        id: event.data.instanceId,
        text: `attempt ${event.data.attempt} timed out after ${formatDurationMs(event.data.timeoutMs)}`,
      };
    case 'InstanceWorkerLost':
      return {
        id: event.data.instanceId,
        text: `attempt ${event.data.attempt} lost its worker ${event.data.workerId}`,
      };
    case 'InstanceRetryScheduled': {
      const d = event.data;
      return {
        id: d.instanceId,
        text: `retry (${d.reason}): attempt ${d.attempt} due ${iso(d.dueAtMs)}`,
      };
    }
    case 'InstanceFailed': {
      const d = event.data;
      const error = d.error ? `: ${describeError(d.error)}` : '';
      return { id: d.instanceId, text: `failed after attempt ${d.attempt} (${d.reason})${error}` };
    }
    case 'InstanceCancelled':
      return {
        id: event.data.instanceId,
        text: event.data.reason
          ? `cancelled: ${oneLine(event.data.reason, NOTE_MAX)}`
          : 'cancelled',
      };
    default: {
      const never: never = event;
      return { id: '?', text: `unhandled event ${JSON.stringify(never)}` };
    }
  }
}

/** Where a line's fire or trigger sits in the batch it was read from (1-based). */
export interface BatchPlace {
  index: number;
  size: number;
}

/**
 * One timeline line per stored message (per element of a batch, see {@link timelineEntries}):
 * `2026-11-23T20:13:00.123Z  #42  JobFired  report  fire 2026-11-23T20:13:00.000Z (schedule) → report~1  by scheduler s-1`,
 * `2026-11-23T20:13:00.123Z  #43  JobFired (batch 2/5)  report  fire …`,
 * or `2026-11-23T20:13:00.123Z  #44  <undecodable: not-json: …>  <subject>`.
 */
export function formatTimelineLine(raw: RawStoredEvent, batch?: BatchPlace): string {
  const head = `${iso(raw.storedAtMs)}  #${raw.seq}`;
  if (!raw.decoded.ok)
    return oneLine(
      `${head}  <undecodable: ${raw.decoded.reason}: ${oneLine(raw.decoded.detail, NOTE_MAX)}>  ${raw.subject}`,
    );
  const { event } = raw.decoded;
  const { id, text } = summarize(event);
  const type = batch ? `${event.type} (batch ${batch.index}/${batch.size})` : event.type;
  return oneLine(`${head}  ${type}  ${id}  ${text}  by ${event.actor.kind} ${event.actor.id}`);
}

/**
 * What the timeline shows of a stored message: the message itself, or for a batch (a
 * JobFiredBatch, a JobTriggerRequestedBatch) one JobFired or JobTriggerRequested per element (same
 * sequence, subject and time), so that each fire and trigger reads, filters and greps like any
 * other.
 */
export function timelineEntries(
  raw: RawStoredEvent,
): { raw: RawStoredEvent; batch?: BatchPlace }[] {
  if (!raw.decoded.ok || !isBatch(raw.decoded.event.type)) return [{ raw }];
  const elements = unbatched(raw.decoded.event);
  return elements.map((event, i) => ({
    raw: { ...raw, decoded: { ok: true, event } },
    batch: { index: i + 1, size: elements.length },
  }));
}

/** One JSON line per stored message: the event exactly as appended, or why it could not be read. */
export function formatJsonLine(raw: RawStoredEvent): string {
  const base = { seq: raw.seq, subject: raw.subject, storedAt: iso(raw.storedAtMs) };
  return JSON.stringify(
    raw.decoded.ok
      ? { ...base, event: raw.decoded.event }
      : { ...base, undecodable: raw.decoded.reason, detail: raw.decoded.detail },
  );
}
