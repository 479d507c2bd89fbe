import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import {
  decodeEventText,
  EVENT_SCHEMAS,
  makeEvent,
  type EventData,
  type EventType,
} from '../../src/events/index.js';
import { checkedParser, compileJsonCheck } from '../../src/events/json-check.js';
import {
  taskBatchMessageSchema,
  taskMessageSchema,
  type TaskMessage,
} from '../../src/events/task.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const ctx = {
  actor: { kind: 'worker' as const, id: 'w-1' },
  nowMs: 1_700_000_000_000,
  causationId: 'cmd-1',
  correlationId: 'req-1',
};
const spec = jobSpecInputSchema.parse({
  name: 'report',
  processor: 'send-report',
  params: { to: ['ops'] },
  schedule: { cron: '*/5 * * * *', tz: 'Europe/Berlin' },
  timeout: '30s',
  retry: { maxAttempts: 3 },
  maxConcurrent: 2,
  start: 1_700_000_000_000,
  end: 1_800_000_000_000,
  maxRuns: 10,
  description: 'the daily report',
});
const dispatch = {
  group: 'reports',
  processor: 'send-report',
  params: { n: 1 },
  timeoutMs: 30_000,
  priority: 3,
};
const error = { name: 'Error', message: 'boom', stack: 'Error: boom\n    at x' };
const fire = {
  instanceId: 'report~1',
  fireTimeMs: 1000,
  reason: 'rerun' as const,
  runNumber: 2,
  params: { n: 2 },
  rerunOf: 'report~0',
  dispatch,
};
const trigger = {
  triggerId: 't-1',
  dueAtMs: 5,
  reason: 'backfill' as const,
  params: [1, 'two'],
  rerunOf: 'report~0',
  fireTimeMs: 4,
};
const task: TaskMessage = {
  v: 1,
  instanceId: 'report~1',
  jobId: 'report',
  partition: 3,
  attempt: 1,
  processor: 'send-report',
  params: { n: 1 },
  fireTimeMs: 1000,
  priority: 0,
  dispatchSeq: 0,
};
const inst = { instanceId: 'report~1', attempt: 2, workerId: 'w-1' };

/** One event of each type, with every optional field given. */
const examples: { [T in EventType]: EventData<T> } = {
  JobDefined: { jobId: 'report', spec, createdAtMs: 1 },
  JobUpdated: { jobId: 'report', spec: { ...spec, schedule: { kind: 'every', everyMs: 60_000 } } },
  JobPaused: { jobId: 'report', note: 'holiday' },
  JobResumed: { jobId: 'report' },
  JobDeleted: { jobId: 'report' },
  JobFired: { jobId: 'report', ...fire },
  JobFiredBatch: { jobId: 'report', fires: [fire, { ...fire, instanceId: 'report~2' }] },
  JobFiresSkipped: {
    jobId: 'report',
    reason: 'misfire',
    count: 3,
    firstFireTimeMs: 1,
    lastFireTimeMs: 3,
  },
  JobTriggerRequested: { jobId: 'report', ...trigger },
  JobTriggerRequestedBatch: {
    jobId: 'report',
    triggers: [trigger, { triggerId: 't-2', dueAtMs: 6, reason: 'manual' }],
  },
  InstanceDispatched: {
    instanceId: 'report~1',
    jobId: 'report',
    attempt: 1,
    fireTimeMs: 1,
    ...dispatch,
  },
  InstanceStarted: { ...inst, startsAtMs: 7 },
  InstanceProgressed: { ...inst, progress: 0.5, note: 'half' },
  InstanceSucceeded: { ...inst, result: { rows: 3 }, startedAtMs: 8 },
  InstanceAttemptFailed: { ...inst, error, startedAtMs: 8 },
  InstanceTimedOut: { instanceId: 'report~1', attempt: 2, timeoutMs: 30_000 },
  InstanceWorkerLost: inst,
  InstanceRetryScheduled: { instanceId: 'report~1', attempt: 3, dueAtMs: 9, reason: 'timeout' },
  InstanceFailed: { instanceId: 'report~1', attempt: 3, reason: 'error', error },
  InstanceCancelled: { instanceId: 'report~1', reason: 'not needed' },
};

const exampleOf = (type: EventType): Json =>
  JSON.parse(JSON.stringify(makeEvent(type, examples[type] as never, ctx, 'e-1'))) as Json;

/**
 * Strings around the length bounds the schemas use, counted in UTF-16 units and in code points:
 * ASCII, astral characters (two units each) and lone surrogates.
 */
const BOUNDS = [80, 200, 300, 500, 1000, 2000, 10_000, 20_000];
const strings: Json[] = [
  '',
  'x',
  'a.b',
  'é',
  ...BOUNDS.flatMap((n) =>
    [n, n + 1].flatMap((k) => [
      'a'.repeat(k),
      '😀'.repeat(k),
      '😀'.repeat(Math.ceil(k / 2)),
      '\ud83d'.repeat(k),
    ]),
  ),
];
const numbers: Json[] = [0, -1, 0.5, 1, 1.5, 9, 10, 256, 1000, 1001, 2 ** 53, -(2 ** 53), 1e308];
const others: Json[] = [null, true, [], {}, [1], { a: 1 }];

/** Every value reachable by replacing or deleting one member, or adding one, anywhere in `root`. */
function* mutations(root: Json): Generator<[string, Json]> {
  function* at(
    value: Json,
    path: string,
    set: (v: Json | undefined) => Json,
  ): Generator<[string, Json]> {
    for (const v of [...strings, ...numbers, ...others])
      yield [`${path} = ${JSON.stringify(v).slice(0, 20)}`, set(v)];
    if (Array.isArray(value)) {
      const first = value[0];
      if (first !== undefined) yield [`${path} × 300`, set(Array(300).fill(first) as Json[])];
      for (let i = 0; i < value.length; i++) {
        yield* at(value[i]!, `${path}[${i}]`, (v) =>
          set(
            v === undefined
              ? value.filter((_, j) => j !== i)
              : value.map((x, j) => (j === i ? v : x)),
          ),
        );
      }
    } else if (value && typeof value === 'object') {
      yield [`${path}.extra`, set({ ...value, extra: 1 })];
      yield [
        `${path}.__proto__`,
        set(JSON.parse(`{"__proto__":1,${JSON.stringify(value).slice(1)}`) as Json),
      ];
      for (const key of Object.keys(value)) {
        yield [
          `${path}.${key} deleted`,
          set(Object.fromEntries(Object.entries(value).filter(([k]) => k !== key))),
        ];
        yield* at(value[key]!, `${path}.${key}`, (v) =>
          set(v === undefined ? value : { ...value, [key]: v }),
        );
      }
    }
  }
  yield* at(root, '', (v) => v ?? root);
}

describe('fast checks of decoded events (Ajv, compiled from the zod schemas)', () => {
  it('exist for every event type and both task messages, so decoding never copies a valid one', () => {
    const without = [...EVENT_SCHEMAS].filter(([, s]) => !compileJsonCheck(s)).map(([t]) => t);
    expect(without).toEqual([]);
    expect(compileJsonCheck(taskMessageSchema)).toBeTypeOf('function');
    expect(compileJsonCheck(taskBatchMessageSchema)).toBeTypeOf('function');
  });

  const checked: [string, z.ZodType, Json][] = [
    ...[...EVENT_SCHEMAS].map(([type, schema]): [string, z.ZodType, Json] => [
      type,
      schema,
      exampleOf(type as EventType),
    ]),
    ['a task message', taskMessageSchema, { ...task, timeoutMs: 1000 } as Json],
    [
      'a message of several tasks',
      taskBatchMessageSchema,
      {
        v: 1,
        tasks: [
          { ...task, timeoutMs: 1000 },
          { ...task, instanceId: 'other~1' },
        ],
        handedOn: true,
      } as Json,
    ],
  ];

  it.each(checked)(
    'give zod’s verdict on %s and on every one-member change of it',
    (_name, schema, example) => {
      const check = compileJsonCheck(schema)!;
      const parse = checkedParser(schema);
      const disagreements: string[] = [];
      let accepted = 0;
      let tried = 0;
      for (const [what, value] of [
        ['as written', example] as [string, Json],
        ...mutations(example),
      ]) {
        tried++;
        const zod = schema.safeParse(value);
        // The check counts a string's UTF-16 units where zod counts code points: it may refuse a
        // string of astral characters zod accepts (zod then decides), never accept one zod refuses.
        const astral = /[\ud800-\udbff][\udc00-\udfff]/.test(JSON.stringify(value));
        const agrees = check(value) === zod.success || (astral && zod.success);
        if (!agrees) disagreements.push(`${what}: zod ${zod.success}`);
        expect(parse(value), what).toEqual(zod);
        if (zod.success) {
          accepted++;
          expect(zod.data, what).toEqual(value); // what the check lets through is zod's output
        }
      }
      expect(disagreements).toEqual([]);
      expect(accepted).toBeGreaterThan(1); // the mutations reach valid values too …
      expect(tried - accepted).toBeGreaterThan(tried / 2); // … and mostly invalid ones
    },
  );

  it('are not compiled where JSON Schema would check less or otherwise than zod', () => {
    const loose = {
      refine: z.string().refine((s) => s !== 'no'),
      superRefine: z.strictObject({ a: z.string() }).superRefine(() => undefined),
      transform: z.string().transform((s) => s.length),
      default: z.strictObject({ a: z.string().default('x') }),
      flaggedRegex: z.string().regex(/^a+$/i),
      email: z.string().email(),
      multipleOf: z.number().multipleOf(0.1),
      startsWith: z.string().startsWith('a'),
      bigint: z.bigint(),
      emailFormat: z.email(),
      uuid: z.uuid(),
      datetime: z.iso.datetime(),
      int32: z.int32(),
      trim: z.string().trim(),
      lowercase: z.string().lowercase(),
      record: z.record(z.string(), z.number()),
      tuple: z.tuple([z.string()]),
      date: z.date(),
    };
    for (const [name, schema] of Object.entries(loose)) {
      expect(compileJsonCheck(schema), name).toBeUndefined();
    }
  });

  it('count a string’s length in UTF-16 units only where that cannot accept what zod refuses', () => {
    // A maximum counted in units refuses more: two astral characters are four units.
    const atMost2 = z.string().max(2);
    expect(atMost2.safeParse('😀😀').success).toBe(true);
    expect(compileJsonCheck(atMost2)?.('😀😀')).toBe(false);
    expect(checkedParser(atMost2)('😀😀')).toEqual({ success: true, data: '😀😀' });
    // A minimum above 1 counted in units would accept one astral character as two: code points.
    const atLeast2 = z.string().min(2);
    expect(atLeast2.safeParse('😀').success).toBe(false);
    expect(compileJsonCheck(atLeast2)?.('😀')).toBe(false);
    expect(compileJsonCheck(atLeast2)?.('😀😀')).toBe(true);
  });

  it('accept only what zod returns unchanged: a stripping object’s extra keys go to zod', () => {
    const strip = z.object({ a: z.string() });
    expect(compileJsonCheck(strip)?.({ a: 'x', b: 1 })).toBe(false);
    expect(compileJsonCheck(strip)?.({ a: 'x' })).toBe(true);
    const loose = z.looseObject({ a: z.string() });
    expect(compileJsonCheck(loose)?.({ a: 'x', b: 1 })).toBe(true);
    expect(loose.parse({ a: 'x', b: 1 })).toEqual({ a: 'x', b: 1 });
  });

  it('hand over, through checkedParser, the value itself when valid, else zod’s issues', () => {
    const parse = checkedParser(taskMessageSchema);
    const valid = { ...task };
    const result = parse(valid);
    expect(result.success && result.data).toBe(valid);
    const invalid = parse({ ...task, attempt: 0 });
    expect(invalid.success).toBe(false);
    expect(invalid.error?.issues[0]?.path).toEqual(['attempt']);
    const refined = checkedParser(z.string().refine((s) => s !== 'no', 'not no'));
    expect(refined('no').success).toBe(false);
    expect(refined('yes')).toEqual({ success: true, data: 'yes' });
  });

  it('leave the naming of an invalid event’s field to zod', () => {
    const event = exampleOf('JobFired') as { data: Record<string, Json> };
    event.data.runNumber = 'one';
    expect(decodeEventText(JSON.stringify(event))).toMatchObject({
      ok: false,
      reason: 'invalid',
      detail: expect.stringContaining('data.runNumber') as string,
    });
  });

  it('decode a valid event to what zod returns', () => {
    for (const type of EVENT_SCHEMAS.keys()) {
      const text = JSON.stringify(exampleOf(type as EventType));
      expect(decodeEventText(text)).toEqual({
        ok: true,
        event: EVENT_SCHEMAS.get(type)!.parse(JSON.parse(text)),
      });
    }
  });
});
