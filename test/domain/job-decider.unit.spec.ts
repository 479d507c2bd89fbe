import { describe, expect, it } from 'vitest';
import { decideJob, type JobCommand } from '../../src/domain/job-decider.js';
import { decideTriggers } from '../../src/domain/trigger-decider.js';
import { parseCommand } from '../../src/services/commands/handler.js';
import type { CommandOf } from '../../src/domain/commands.js';
import { NotFoundError, RejectedError, ValidationError } from '../../src/events/errors.js';
import { evolveJob, type JobView } from '../../src/projections/job-view.js';

const actor = { kind: 'client' as const, id: 'test' };
const T0 = Date.parse('2026-11-23T10:00:00Z');
let n = 0;
const cmd = (type: string, data: unknown) =>
  parseCommand({ type, v: 1, id: `c${++n}`, atMs: T0, actor, data }) as JobCommand;

/** given(events).when(command) → the events decided, or the error thrown. */
function given(...commands: JobCommand[]) {
  let state: JobView | undefined;
  let seq = 0;
  for (const c of commands) {
    for (const e of decideJob(c, state, { actor, nowMs: T0 }).events)
      state = evolveJob(state, e, ++seq);
  }
  return {
    state: () => state,
    when(c: JobCommand, nowMs = T0) {
      return decideJob(c, state, { actor, nowMs });
    },
  };
}

const register = (extra: Record<string, unknown> = {}) =>
  cmd('RegisterJob', {
    spec: { name: 'report', processor: 'sendReport', schedule: { every: '1m' }, ...extra },
  });

describe('job decider', () => {
  it('defines a new job', () => {
    const { events, reply } = given().when(register());
    expect(events.map((e) => e.type)).toEqual(['JobDefined']);
    expect(reply).toMatchObject({ jobId: 'report', created: true });
  });

  it('re-registering the same spec appends nothing', () => {
    expect(given(register()).when(register()).events).toEqual([]);
  });

  it('re-registering a changed spec updates the job', () => {
    const { events } = given(register()).when(register({ schedule: { every: '5m' } }));
    expect(events.map((e) => e.type)).toEqual(['JobUpdated']);
  });

  it('pauses an active job once', () => {
    const g = given(register());
    expect(g.when(cmd('PauseJob', { jobId: 'report' })).events.map((e) => e.type)).toEqual([
      'JobPaused',
    ]);
    expect(
      given(register(), cmd('PauseJob', { jobId: 'report' })).when(
        cmd('PauseJob', { jobId: 'report' }),
      ).events,
    ).toEqual([]);
  });

  it('resumes a paused job', () => {
    const { events } = given(register(), cmd('PauseJob', { jobId: 'report' })).when(
      cmd('ResumeJob', { jobId: 'report' }),
    );
    expect(events.map((e) => e.type)).toEqual(['JobResumed']);
  });

  it('refuses commands on an unknown or deleted job', () => {
    expect(() => given().when(cmd('PauseJob', { jobId: 'report' }))).toThrow(NotFoundError);
    expect(() =>
      given(register(), cmd('DeleteJob', { jobId: 'report' })).when(
        cmd('TriggerJob', { jobId: 'report' }),
      ),
    ).toThrow(NotFoundError);
  });

  it('records a delayed trigger as a durable event due at now + delay', () => {
    const { events } = given(register()).when(
      cmd('TriggerJob', { jobId: 'report', delay: '30s', params: { to: 'ops' }, triggerId: 'x1' }),
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'JobTriggerRequested',
      data: { triggerId: 'x1', dueAtMs: T0 + 30_000, params: { to: 'ops' } },
    });
  });

  it('a trigger is order-free: it needs no sequence check, unlike the commands that change the job', () => {
    const g = given(register());
    expect(g.when(cmd('TriggerJob', { jobId: 'report' })).orderFree).toBe(true);
    for (const c of [
      register({ schedule: { every: '5m' } }),
      cmd('PauseJob', { jobId: 'report' }),
      cmd('DeleteJob', { jobId: 'report' }),
      cmd('BackfillJob', { jobId: 'report', from: T0 - 120_000, to: T0 }),
    ])
      expect(g.when(c).orderFree ?? false).toBe(false);
  });

  it('a trigger that lands after a deletion is never due: the job stays deleted and triggerless', () => {
    const g = given(register());
    const trigger = g.when(cmd('TriggerJob', { jobId: 'report', triggerId: 'late' })).events[0]!;
    const deleted = given(register(), cmd('DeleteJob', { jobId: 'report' })).state()!;
    const after = evolveJob(deleted, trigger, deleted.lastSeq + 1)!;
    expect(after.status).toBe('deleted');
    // Registering the job again starts from a clean view: the stray trigger does not fire it.
    const again = decideJob(register(), after, { actor, nowMs: T0 }).events[0]!;
    expect(evolveJob(after, again, after.lastSeq + 1)!.pendingTriggers).toEqual({});
  });

  it('a trigger with an id already pending is not requested twice', () => {
    const g = given(
      register(),
      cmd('TriggerJob', { jobId: 'report', triggerId: 'x1', delay: '1h' }),
    );
    expect(g.when(cmd('TriggerJob', { jobId: 'report', triggerId: 'x1' })).events).toEqual([]);
  });

  it('backfills every tick in the range, recorded as one batch of triggers', () => {
    const g = given(register());
    const anchor = g.state()!.anchorMs;
    const backfill = cmd('BackfillJob', {
      jobId: 'report',
      from: anchor - 10 * 60_000,
      to: anchor - 60_000,
    });
    const { events, reply } = g.when(backfill);
    expect(reply).toMatchObject({ ticks: 10 });
    expect(events).toHaveLength(1);
    const [batch] = events;
    if (batch?.type !== 'JobTriggerRequestedBatch') throw new Error(`got ${batch?.type}`);
    expect(batch.id).toBe(`triggers:report:bf-${anchor - 10 * 60_000}:10:${backfill.id}`);
    expect(batch.data.triggers.map((t) => t.fireTimeMs)).toEqual(
      Array.from({ length: 10 }, (_, i) => anchor - (10 - i) * 60_000),
    );
    expect(batch.data.triggers.every((t) => t.reason === 'backfill' && t.dueAtMs === T0)).toBe(
      true,
    );
    // Folded, every tick is a pending trigger of its own.
    const after = evolveJob(g.state(), batch, 99)!;
    expect(Object.keys(after.pendingTriggers)).toHaveLength(10);
  });

  it('backfills a long range as batches of at most 1,000 triggers, each tick once, in order', () => {
    const g = given(register());
    const anchor = g.state()!.anchorMs;
    const { events, reply } = g.when(
      cmd('BackfillJob', { jobId: 'report', from: anchor - 2500 * 60_000, to: anchor - 60_000 }),
    );
    expect(reply).toMatchObject({ ticks: 2500 });
    const sizes = events.map((e) =>
      e.type === 'JobTriggerRequestedBatch' ? e.data.triggers.length : 0,
    );
    expect(sizes.every((n) => n > 1 && n <= 1000)).toBe(true);
    const ticks = events.flatMap((e) =>
      e.type === 'JobTriggerRequestedBatch' ? e.data.triggers.map((t) => t.fireTimeMs) : [],
    );
    expect(ticks).toEqual(Array.from({ length: 2500 }, (_, i) => anchor - (2500 - i) * 60_000));
  });

  it('refuses a backfill reaching into the future, naming "to": the schedule fires those ticks', () => {
    const g = given(register());
    const err = (() => {
      try {
        g.when(cmd('BackfillJob', { jobId: 'report', from: T0 - 60_000, to: T0 + 60_000 }));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe('to');
  });

  it('refuses to backfill a manual job', () => {
    const g = given(register({ schedule: { manual: true } }));
    expect(() => g.when(cmd('BackfillJob', { jobId: 'report', from: T0 - 1000, to: T0 }))).toThrow(
      RejectedError,
    );
  });
});

describe('command validation', () => {
  it.each([
    [
      'an invalid cron string',
      { spec: { name: 'a', processor: 'p', schedule: { cron: 'every tuesday' } } },
      'data.spec.schedule.cron',
    ],
    [
      'an unknown time zone',
      { spec: { name: 'a', processor: 'p', schedule: { cron: '* * * * *', tz: 'Nowhere/Land' } } },
      'data.spec.schedule.tz',
    ],
    [
      'a negative interval',
      { spec: { name: 'a', processor: 'p', schedule: { every: -1 } } },
      'data.spec.schedule.every',
    ],
    [
      'an unknown field',
      { spec: { name: 'a', processor: 'p', schedule: { every: '1s' }, colour: 'red' } },
      'data.spec.colour',
    ],
    [
      'a missing processor',
      { spec: { name: 'a', schedule: { every: '1s' } } },
      'data.spec.processor',
    ],
  ])('rejects %s, naming the field', (_what, data, field) => {
    let error: unknown;
    try {
      parseCommand({ type: 'RegisterJob', v: 1, id: 'c', atMs: T0, actor, data });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toContain(field);
  });

  it('rejects oversized params, naming the field', () => {
    let error: unknown;
    try {
      parseCommand({
        type: 'TriggerJob',
        v: 1,
        id: 'c',
        atMs: T0,
        actor,
        data: { jobId: 'a', params: { blob: 'x'.repeat(70_000) } },
      });
    } catch (err) {
      error = err;
    }
    expect((error as ValidationError).field).toBe('data.params');
  });

  it('rejects an unknown command type', () => {
    expect(() =>
      parseCommand({ type: 'ExplodeJob', v: 1, id: 'c', atMs: T0, actor, data: {} }),
    ).toThrow(/type/);
  });
});

describe('TriggerJobs decider', () => {
  const many = (triggers: unknown[], id = `c${++n}`) =>
    parseCommand({
      type: 'TriggerJobs',
      v: 1,
      id,
      atMs: T0,
      actor,
      data: { triggers },
    }) as CommandOf<'TriggerJobs'>;

  /** A manual job named `name`, as folded from its registration. */
  const manual = (name: string) =>
    given(
      cmd('RegisterJob', { spec: { name, processor: 'sendReport', schedule: { manual: true } } }),
    ).state();

  it('decides a trigger with an id of its own as a TriggerJob, with its own event and message id', () => {
    const report = given(register()).state();
    const { events, reply } = decideTriggers(
      many([{ jobId: 'report', triggerId: 'mine', params: { n: 1 } }], 'c-9'),
      new Map([['report', report]]),
      { actor, nowMs: T0 },
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'JobTriggerRequested',
      id: 'trigger:report:mine',
      data: { jobId: 'report', triggerId: 'mine', params: { n: 1 } },
    });
    expect(reply).toEqual({
      triggered: 1,
      triggers: [{ jobId: 'report', triggerId: 'mine', instanceId: 'report~t-mine', dueAtMs: T0 }],
    });
  });

  it('records the triggers that take their ids from the command as one batch per job, in order; one alone as a JobTriggerRequested', () => {
    const jobs = new Map([
      ['report', given(register()).state()],
      ['other', manual('other')],
      ['third', manual('third')],
    ]);
    const { events, reply } = decideTriggers(
      many(
        [
          { jobId: 'report', params: { n: 0 } },
          { jobId: 'other' },
          { jobId: 'report', triggerId: 'mine' },
          { jobId: 'report', delay: 5000 },
          { jobId: 'third' },
          { jobId: 'other' },
        ],
        'c-9',
      ),
      jobs,
      { actor, nowMs: T0 },
    );
    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['JobTriggerRequested', 'trigger:report:mine'],
      ['JobTriggerRequestedBatch', 'triggers:report:c-9-0:2'],
      ['JobTriggerRequestedBatch', 'triggers:other:c-9-1:2'],
      ['JobTriggerRequested', 'trigger:third:c-9-4'],
    ]);
    expect(events[1]!.data).toEqual({
      jobId: 'report',
      triggers: [
        { triggerId: 'c-9-0', dueAtMs: T0, reason: 'manual', params: { n: 0 } },
        { triggerId: 'c-9-3', dueAtMs: T0 + 5000, reason: 'manual' },
      ],
    });
    expect(events[1]).toMatchObject({ causationId: 'c-9', correlationId: 'c-9' });
    // Replies in the command's order.
    expect((reply.triggers as { instanceId: string }[]).map((t) => t.instanceId)).toEqual([
      'report~t-c-9-0',
      'other~t-c-9-1',
      'report~t-mine',
      'report~t-c-9-3',
      'third~t-c-9-4',
      'other~t-c-9-5',
    ]);
  });

  it("cuts a job's triggers into batches by their JSON size, the same way whatever the job holds", () => {
    const big = { blob: 'x'.repeat(20_000) };
    const command = many(
      Array.from({ length: 5 }, () => ({ jobId: 'report', params: big })),
      'c-5',
    );
    const report = given(register()).state()!;
    const first = decideTriggers(command, new Map([['report', report]]), { actor, nowMs: T0 });
    expect(first.events.map((e) => e.id)).toEqual([
      'triggers:report:c-5-0:3',
      'triggers:report:c-5-3:2',
    ]);
    for (const e of first.events) expect(JSON.stringify(e).length).toBeLessThan(70_000);

    // The same command again, after its first batch was stored: that batch is not recorded
    // again, and the second is the same event (the same message id, the same triggers).
    const afterFirst = evolveJob(report, first.events[0]!, 10)!;
    const again = decideTriggers(command, new Map([['report', afterFirst]]), {
      actor,
      nowMs: T0 + 1,
    });
    expect(again.events.map((e) => e.id)).toEqual(['triggers:report:c-5-3:2']);
    const ids = (e: (typeof first.events)[number] | undefined) =>
      (e?.data as { triggers: { triggerId: string }[] }).triggers.map((t) => t.triggerId);
    expect(ids(again.events[0])).toEqual(ids(first.events[1]));
    expect((again.reply.triggers as { duplicate?: boolean }[]).map((t) => t.duplicate)).toEqual([
      true,
      true,
      true,
      undefined,
      undefined,
    ]);
  });

  it('refuses all of them when one names a deleted or unknown job, naming that trigger', () => {
    const deleted = given(register(), cmd('DeleteJob', { jobId: 'report' })).state();
    const jobs = new Map([['report', deleted]]);
    const command = many([{ jobId: 'report' }]);
    expect(() => decideTriggers(command, jobs, { actor, nowMs: T0 })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION',
        issues: [{ path: 'data.triggers.0.jobId', message: 'job "report" not found' }],
      }),
    );
  });

  it('appends nothing for a trigger with its own id already pending, and says so', () => {
    const command = many([{ jobId: 'report', triggerId: 't1' }]);
    const pending = given(register(), cmd('TriggerJob', { jobId: 'report', triggerId: 't1' }));
    const { events, reply } = decideTriggers(command, new Map([['report', pending.state()]]), {
      actor,
      nowMs: T0,
    });
    expect(events).toEqual([]);
    expect(reply).toMatchObject({ triggered: 1, triggers: [{ duplicate: true }] });
  });
});
