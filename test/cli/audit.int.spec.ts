import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli.js';
import {
  DEFAULT_PARTITIONS,
  jobIdOfInstance,
  makeEvent,
  partitionOf,
  subjects,
  type InstanceEvent,
  type JetschedEvent,
  type JobEvent,
} from '../../src/events/index.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { uniquePrefix, useNats } from '../support/nats.js';

const nats = useNats();
const prefix = uniquePrefix('cli');

const T0 = Date.parse('2026-11-23T20:00:00.000Z');
const scheduler = { actor: { kind: 'scheduler' as const, id: 's-1' }, nowMs: T0 };
const worker = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: T0 };

/** A job id other than "report" that hashes to the same partition, so filtering cannot lean on partitions. */
function neighbourOf(jobId: string): string {
  const p = partitionOf(jobId, DEFAULT_PARTITIONS);
  for (let i = 0; ; i++)
    if (partitionOf(`other-${i}`, DEFAULT_PARTITIONS) === p) return `other-${i}`;
}

interface Appended {
  seq: number;
  subject: string;
  /** The job the event belongs to, directly or through its instance. */
  jobId: string;
  event: JetschedEvent;
}

let rt: Runtime;
const appended: Appended[] = [];
let undecodableSeq = 0;

async function onJob(event: JobEvent): Promise<void> {
  const { jobId } = event.data;
  const subject = subjects.job(rt.names, partitionOf(jobId, rt.partitions), jobId);
  appended.push({ seq: (await rt.store.append(subject, event)).seq, subject, jobId, event });
}

async function onInstance(event: InstanceEvent): Promise<void> {
  const { instanceId } = event.data;
  const jobId = jobIdOfInstance(instanceId) ?? instanceId;
  const subject = subjects.instance(rt.names, partitionOf(jobId, rt.partitions), instanceId);
  appended.push({ seq: (await rt.store.append(subject, event)).seq, subject, jobId, event });
}

const cli = (...args: string[]) =>
  runCliCaptured(['--nats', nats.url, '--prefix', prefix, '--log-level', 'warn'], args);

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as unknown);

const asLines = (items: Appended[]) =>
  items.map(({ seq, subject, event }) => ({
    seq,
    subject,
    storedAt: expect.any(String) as unknown,
    event,
  }));

beforeAll(async () => {
  rt = await openRuntime({ nats: { servers: nats.url }, prefix, log: pino({ level: 'silent' }) });
  const other = neighbourOf('report');
  const fire = (jobId: string, n: number) =>
    makeEvent(
      'JobFired',
      {
        jobId,
        instanceId: `${jobId}~${n}`,
        fireTimeMs: T0 + n * 60_000,
        reason: 'schedule',
        runNumber: n,
      },
      scheduler,
    );
  await onJob(makeEvent('JobPaused', { jobId: 'report', note: 'set up' }, scheduler));
  await onJob(fire('report', 1));
  await onJob(fire(other, 1));
  await onInstance(
    makeEvent(
      'InstanceDispatched',
      {
        instanceId: 'report~1',
        jobId: 'report',
        attempt: 1,
        group: 'g',
        processor: 'p',
        params: { a: [1, 2] },
        fireTimeMs: T0 + 60_000,
        priority: 0,
      },
      scheduler,
    ),
  );
  await onInstance(
    makeEvent('InstanceStarted', { instanceId: `${other}~1`, attempt: 1, workerId: 'w-1' }, worker),
  );
  await onInstance(
    makeEvent('InstanceStarted', { instanceId: 'report~1', attempt: 1, workerId: 'w-1' }, worker),
  );
  await onJob(fire('report', 2));
  await onJob(fire('report-x', 1));
  await onInstance(
    makeEvent('InstanceStarted', { instanceId: 'report-x~1', attempt: 1, workerId: 'w-1' }, worker),
  );
  await onInstance(
    makeEvent(
      'InstanceSucceeded',
      { instanceId: 'report~1', attempt: 1, workerId: 'w-1', result: { rows: 3 } },
      worker,
    ),
  );
  await onInstance(
    makeEvent('InstanceCancelled', { instanceId: 'report~2', reason: 'test' }, scheduler),
  );
  // A job with instance events only (its own were never written): found by scanning every partition.
  await onInstance(
    makeEvent('InstanceStarted', { instanceId: 'ghost~1', attempt: 1, workerId: 'w-1' }, worker),
  );
  const ack = await rt.js.publish(
    subjects.instance(rt.names, partitionOf('report', rt.partitions), 'report~2'),
    'not json',
  );
  undecodableSeq = ack.seq;
});

afterAll(async () => {
  await rt?.close();
});

describe('jetsched audit', () => {
  it("prints a job's events and all its instances' events in stream order", async () => {
    const { code, stdout } = await cli('audit', '--json', '--job', 'report');
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    expect(lines.slice(0, -1)).toEqual(asLines(appended.filter((a) => a.jobId === 'report')));
    expect(lines.at(-1)).toMatchObject({ seq: undecodableSeq, undecodable: 'not-json' });
  });

  it('finds the instances of a job that has no events of its own', async () => {
    const { stdout } = await cli('audit', '--json', '--job', 'ghost');
    expect(jsonLines(stdout)).toEqual(asLines(appended.filter((a) => a.jobId === 'ghost')));
  });

  it('prints an instance with the JobFired that created it', async () => {
    const { stdout } = await cli('audit', '--json', '--instance', 'report~1');
    const expected = appended.filter(
      ({ event }) => (event.data as { instanceId?: string }).instanceId === 'report~1',
    );
    expect(expected.map((a) => a.event.type)).toEqual([
      'JobFired',
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceSucceeded',
    ]);
    expect(jsonLines(stdout)).toEqual(asLines(expected));
  });

  it('filters by event type and by sequence', async () => {
    const fired = await cli('audit', '--json', '--type', 'JobFired');
    expect(jsonLines(fired.stdout)).toEqual(
      asLines(appended.filter((a) => a.event.type === 'JobFired')),
    );

    const middle = appended.slice(1, 3);
    const [from, to] = [middle[0]?.seq ?? 0, middle[1]?.seq ?? 0];
    const bounded = await cli(
      'audit',
      '--json',
      '--from-seq',
      String(from),
      '--to-seq',
      String(to),
    );
    expect(jsonLines(bounded.stdout)).toEqual(asLines(middle));
  });

  it('starts at --since, by stored time', async () => {
    const all = jsonLines((await cli('audit', '--json', '--job', 'report')).stdout) as {
      storedAt: string;
    }[];
    const since = all[3]?.storedAt ?? '';
    const { stdout } = await cli('audit', '--json', '--job', 'report', '--since', since);
    expect(jsonLines(stdout)).toEqual(all.filter((line) => line.storedAt >= since));
  });

  it('prints nothing, and returns, for a time range after the last event', async () => {
    const late = await cli(
      'audit',
      '--json',
      '--since',
      new Date(Date.now() + 60_000).toISOString(),
    );
    expect(late).toMatchObject({ code: 0, stdout: '' });
    const early = await cli('audit', '--until', '2000-01-01T00:00:00Z');
    expect(early).toMatchObject({ code: 0, stdout: '', stderr: 'no events match\n' });
  });

  it('prints a readable timeline', async () => {
    const { stdout } = await cli('audit', '--instance', 'report~1');
    const lines = stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z {2}#\d+ {2}JobFired {2}report {2}fire 2026-11-23T20:01:00\.000Z \(schedule\) → report~1 {2}by scheduler s-1$/,
    );
  });

  it('refuses bad flags with exit code 2 and a JSON error', async () => {
    const { code, stdout } = await cli('audit', '--json', '--type', 'Nope');
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toMatchObject({
      error: { code: 'VALIDATION', message: expect.stringContaining('--type') as unknown },
    });
  });
});
