import { describe, expect, it } from 'vitest';
import {
  formatJsonLine,
  formatTimelineLine,
  timelineEntries,
} from '../../src/cli/audit/timeline.js';
import { DEFAULT_RETRY, type JobSpec } from '../../src/domain/job-spec.js';
import {
  EVENT_TYPES,
  makeEvent,
  type EventOf,
  type EventType,
  type RawStoredEvent,
} from '../../src/events/index.js';

const T0 = Date.parse('2026-11-23T20:13:00.000Z');
const scheduler = { actor: { kind: 'scheduler' as const, id: 's-1' }, nowMs: T0 };
const worker = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: T0 };
const client = { actor: { kind: 'client' as const, id: 'cli' }, nowMs: T0 };
const spec: JobSpec = {
  name: 'report',
  group: 'reports',
  processor: 'build-report',
  params: {},
  schedule: { kind: 'cron', cron: '*/5 * * * *', tz: 'Europe/Berlin' },
  retry: DEFAULT_RETRY,
  overlap: 'allow',
  misfire: 'fire-once',
  maxCatchUp: 1000,
  priority: 0,
  enabled: true,
};
const inst = 'report~1764';

/** One event of every type with the timeline text it should get; the mapped type makes it exhaustive. */
const cases: { [T in EventType]: [EventOf<T>, string] } = {
  JobDefined: [
    makeEvent('JobDefined', { jobId: 'report', spec, createdAtMs: T0 }, client),
    'JobDefined  report  defined: cron "*/5 * * * *" Europe/Berlin → build-report in group reports  by client cli',
  ],
  JobUpdated: [
    makeEvent(
      'JobUpdated',
      {
        jobId: 'report',
        spec: { ...spec, schedule: { kind: 'every', everyMs: 90_000 }, enabled: false },
      },
      client,
    ),
    'JobUpdated  report  updated: every 90s → build-report in group reports, disabled  by client cli',
  ],
  JobPaused: [
    makeEvent('JobPaused', { jobId: 'report', note: 'maintenance\nwindow' }, client),
    'JobPaused  report  paused: maintenance window  by client cli',
  ],
  JobResumed: [
    makeEvent('JobResumed', { jobId: 'report' }, client),
    'JobResumed  report  resumed  by client cli',
  ],
  JobDeleted: [
    makeEvent('JobDeleted', { jobId: 'report' }, client),
    'JobDeleted  report  deleted  by client cli',
  ],
  JobFired: [
    makeEvent(
      'JobFired',
      { jobId: 'report', instanceId: inst, fireTimeMs: T0, reason: 'schedule', runNumber: 3 },
      scheduler,
    ),
    `JobFired  report  fire 2026-11-23T20:13:00.000Z (schedule) → ${inst}  by scheduler s-1`,
  ],
  JobFiredBatch: [
    makeEvent(
      'JobFiredBatch',
      {
        jobId: 'report',
        fires: [
          { instanceId: 'report~t-a', fireTimeMs: T0, reason: 'manual', runNumber: 4 },
          { instanceId: 'report~t-b', fireTimeMs: T0, reason: 'manual', runNumber: 5 },
        ],
      },
      scheduler,
    ),
    'JobFiredBatch  report  2 fires → report~t-a, report~t-b  by scheduler s-1',
  ],
  JobFiresSkipped: [
    makeEvent(
      'JobFiresSkipped',
      {
        jobId: 'report',
        reason: 'overlap',
        count: 2,
        firstFireTimeMs: T0,
        lastFireTimeMs: T0 + 300_000,
      },
      scheduler,
    ),
    'JobFiresSkipped  report  skipped 2 fires (overlap) 2026-11-23T20:13:00.000Z … 2026-11-23T20:18:00.000Z  by scheduler s-1',
  ],
  JobTriggerRequested: [
    makeEvent(
      'JobTriggerRequested',
      { jobId: 'report', triggerId: 't1', dueAtMs: T0, reason: 'rerun', rerunOf: inst },
      client,
    ),
    `JobTriggerRequested  report  trigger t1 (rerun) due 2026-11-23T20:13:00.000Z, rerun of ${inst}  by client cli`,
  ],
  JobTriggerRequestedBatch: [
    makeEvent(
      'JobTriggerRequestedBatch',
      {
        jobId: 'report',
        triggers: [
          { triggerId: 'c1-0', dueAtMs: T0, reason: 'manual' },
          { triggerId: 'c1-1', dueAtMs: T0 + 1000, reason: 'manual', params: { n: 1 } },
        ],
      },
      client,
    ),
    'JobTriggerRequestedBatch  report  2 triggers c1-0, c1-1  by client cli',
  ],
  InstanceDispatched: [
    makeEvent(
      'InstanceDispatched',
      {
        instanceId: inst,
        jobId: 'report',
        attempt: 1,
        group: 'reports',
        processor: 'build-report',
        fireTimeMs: T0,
        timeoutMs: 30_000,
        priority: 5,
      },
      scheduler,
    ),
    `InstanceDispatched  ${inst}  attempt 1 dispatched to group reports (build-report, priority 5, timeout 30s)  by scheduler s-1`,
  ],
  InstanceStarted: [
    makeEvent('InstanceStarted', { instanceId: inst, attempt: 1, workerId: 'w-1' }, worker),
    `InstanceStarted  ${inst}  attempt 1 started on w-1  by worker w-1`,
  ],
  InstanceProgressed: [
    makeEvent(
      'InstanceProgressed',
      { instanceId: inst, attempt: 1, workerId: 'w-1', progress: 0.5, note: 'half way' },
      worker,
    ),
    `InstanceProgressed  ${inst}  attempt 1 progress 50% half way  by worker w-1`,
  ],
  InstanceSucceeded: [
    makeEvent(
      'InstanceSucceeded',
      { instanceId: inst, attempt: 2, workerId: 'w-1', result: { rows: 3 } },
      worker,
    ),
    `InstanceSucceeded  ${inst}  attempt 2 succeeded on w-1  by worker w-1`,
  ],
  InstanceAttemptFailed: [
    makeEvent(
      'InstanceAttemptFailed',
      {
        instanceId: inst,
        attempt: 1,
        workerId: 'w-1',
        error: { name: 'TypeError', message: 'x is\nundefined' },
      },
      worker,
    ),
    `InstanceAttemptFailed  ${inst}  attempt 1 failed on w-1: TypeError: x is undefined  by worker w-1`,
  ],
  InstanceTimedOut: [
    makeEvent('InstanceTimedOut', { instanceId: inst, attempt: 1, timeoutMs: 120_000 }, scheduler),
    `InstanceTimedOut  ${inst}  attempt 1 timed out after 2m  by scheduler s-1`,
  ],
  InstanceWorkerLost: [
    makeEvent('InstanceWorkerLost', { instanceId: inst, attempt: 1, workerId: 'w-2' }, scheduler),
    `InstanceWorkerLost  ${inst}  attempt 1 lost its worker w-2  by scheduler s-1`,
  ],
  InstanceRetryScheduled: [
    makeEvent(
      'InstanceRetryScheduled',
      { instanceId: inst, attempt: 2, dueAtMs: T0 + 1000, reason: 'error' },
      scheduler,
    ),
    `InstanceRetryScheduled  ${inst}  retry (error): attempt 2 due 2026-11-23T20:13:01.000Z  by scheduler s-1`,
  ],
  InstanceFailed: [
    makeEvent('InstanceFailed', { instanceId: inst, attempt: 3, reason: 'timeout' }, scheduler),
    `InstanceFailed  ${inst}  failed after attempt 3 (timeout)  by scheduler s-1`,
  ],
  InstanceCancelled: [
    makeEvent('InstanceCancelled', { instanceId: inst, reason: 'superseded' }, client),
    `InstanceCancelled  ${inst}  cancelled: superseded  by client cli`,
  ],
};

const stored = (seq: number, decoded: RawStoredEvent['decoded']): RawStoredEvent => ({
  seq,
  subject: 'jetsched.evt.3.job.report',
  storedAtMs: T0 + 123,
  decoded,
});

describe('audit timeline', () => {
  it('has a case for every event type', () => {
    expect(Object.keys(cases).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(Object.entries(cases))('summarises %s on one line', (_type, [event, text]) => {
    expect(formatTimelineLine(stored(42, { ok: true, event }))).toBe(
      `2026-11-23T20:13:00.123Z  #42  ${text}`,
    );
  });

  it('shows the first attempt a fire dispatched with it', () => {
    const event = makeEvent(
      'JobFired',
      {
        jobId: 'report',
        instanceId: inst,
        fireTimeMs: T0,
        reason: 'manual',
        runNumber: 4,
        dispatch: { group: 'reports', processor: 'build-report', priority: 5, timeoutMs: 30_000 },
      },
      scheduler,
    );
    expect(formatTimelineLine(stored(43, { ok: true, event }))).toBe(
      `2026-11-23T20:13:00.123Z  #43  JobFired  report  fire 2026-11-23T20:13:00.000Z (manual) → ${inst}; attempt 1 dispatched to group reports (build-report, priority 5, timeout 30s)  by scheduler s-1`,
    );
  });

  it('shows each fire of a batch on its own line, marked with its place in the batch', () => {
    const [event] = cases.JobFiredBatch;
    const lines = timelineEntries(stored(45, { ok: true, event })).map((e) =>
      formatTimelineLine(e.raw, e.batch),
    );
    expect(lines).toEqual([
      '2026-11-23T20:13:00.123Z  #45  JobFired (batch 1/2)  report  fire 2026-11-23T20:13:00.000Z (manual) → report~t-a  by scheduler s-1',
      '2026-11-23T20:13:00.123Z  #45  JobFired (batch 2/2)  report  fire 2026-11-23T20:13:00.000Z (manual) → report~t-b  by scheduler s-1',
    ]);
  });

  it('shows each trigger of a JobTriggerRequestedBatch as a JobTriggerRequested line of its own, with its place in the batch', () => {
    const [event] = cases.JobTriggerRequestedBatch;
    const lines = timelineEntries(stored(46, { ok: true, event })).map((e) =>
      formatTimelineLine(e.raw, e.batch),
    );
    expect(lines).toEqual([
      '2026-11-23T20:13:00.123Z  #46  JobTriggerRequested (batch 1/2)  report  trigger c1-0 (manual) due 2026-11-23T20:13:00.000Z  by client cli',
      '2026-11-23T20:13:00.123Z  #46  JobTriggerRequested (batch 2/2)  report  trigger c1-1 (manual) due 2026-11-23T20:13:01.000Z  by client cli',
    ]);
  });

  it('shows an attempt claimed ahead with the time it starts at', () => {
    const event = makeEvent(
      'InstanceStarted',
      { instanceId: inst, attempt: 1, workerId: 'w-1', startsAtMs: T0 + 5000 },
      worker,
    );
    expect(formatTimelineLine(stored(44, { ok: true, event }))).toBe(
      `2026-11-23T20:13:00.123Z  #44  InstanceStarted  ${inst}  attempt 1 claimed by w-1, starts 2026-11-23T20:13:05.000Z  by worker w-1`,
    );
  });

  it('shows when a run began: a start recorded while it ran, a report that records its start', () => {
    const late = makeEvent(
      'InstanceStarted',
      { instanceId: inst, attempt: 1, workerId: 'w-1', beganAtMs: T0 - 200 },
      worker,
    );
    expect(formatTimelineLine(stored(45, { ok: true, event: late }))).toBe(
      `2026-11-23T20:13:00.123Z  #45  InstanceStarted  ${inst}  attempt 1 started on w-1, began 2026-11-23T20:12:59.800Z  by worker w-1`,
    );
    const report = makeEvent(
      'InstanceSucceeded',
      { instanceId: inst, attempt: 1, workerId: 'w-1', startedAtMs: T0 - 3 },
      worker,
    );
    expect(formatTimelineLine(stored(46, { ok: true, event: report }))).toBe(
      `2026-11-23T20:13:00.123Z  #46  InstanceSucceeded  ${inst}  attempt 1 succeeded on w-1 (began 2026-11-23T20:12:59.997Z)  by worker w-1`,
    );
  });

  it('shows an undecodable message with its reason and subject', () => {
    const line = formatTimelineLine(
      stored(7, { ok: false, reason: 'not-json', detail: 'Unexpected token' }),
    );
    expect(line).toBe(
      '2026-11-23T20:13:00.123Z  #7  <undecodable: not-json: Unexpected token>  jetsched.evt.3.job.report',
    );
  });

  it('truncates long free text', () => {
    const event = makeEvent('JobPaused', { jobId: 'report', note: 'x'.repeat(400) }, client);
    expect(formatTimelineLine(stored(1, { ok: true, event })).length).toBeLessThan(260);
  });
});

describe('audit JSON lines', () => {
  it('carries the event exactly as appended', () => {
    const [event] = cases.JobFired;
    expect(JSON.parse(formatJsonLine(stored(42, { ok: true, event })))).toEqual({
      seq: 42,
      subject: 'jetsched.evt.3.job.report',
      storedAt: '2026-11-23T20:13:00.123Z',
      event,
    });
  });

  it('names why a message could not be decoded', () => {
    expect(
      JSON.parse(
        formatJsonLine(stored(7, { ok: false, reason: 'unknown-type', detail: 'type "X"' })),
      ),
    ).toEqual({
      seq: 7,
      subject: 'jetsched.evt.3.job.report',
      storedAt: '2026-11-23T20:13:00.123Z',
      undecodable: 'unknown-type',
      detail: 'type "X"',
    });
  });
});
