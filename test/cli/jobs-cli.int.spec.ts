import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { uniquePrefix, useNats } from '../support/nats.js';
import { silent, watch } from '../scheduler/helpers.js';

const nats = useNats();

describe('the job and instance commands of the CLI', () => {
  let rt: Runtime;
  let prefix: string;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    prefix = uniquePrefix('cli');
    rt = await openRuntime({ nats: { servers: nats.url }, prefix, log: silent });
    const server = await startServer({ runtime: rt, log: silent });
    const worker = createWorker({
      runtime: rt,
      group: 'reports',
      log: silent,
      processors: {
        sendReport: async (ctx) => {
          ctx.log.info('sending the report', { to: (ctx.params as { to: string }).to });
          return 'sent';
        },
      },
    });
    await worker.start();
    stop = async () => {
      await worker.drain();
      await server.stop();
    };
  });
  afterAll(async () => {
    await stop?.();
    await rt?.close();
  });

  async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    const run = await runCliCaptured(
      ['--nats', nats.url, '--prefix', prefix, '--log-level', 'silent'],
      args,
    );
    return { code: run.code, out: run.stdout, err: run.stderr };
  }

  it('applies a YAML file, lists the job, triggers it, and shows the instance and its logs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jetsched-cli-'));
    const file = join(dir, 'jobs.yaml');
    await writeFile(
      file,
      [
        '- name: nightly',
        '  group: reports',
        '  processor: sendReport',
        '  params: { to: ops }',
        '  schedule: { cron: "0 0 3 * * *", tz: Europe/Berlin }',
        '',
      ].join('\n'),
    );
    expect(await cli('job', 'apply', '-f', file)).toMatchObject({
      code: 0,
      out: 'nightly: created\n',
    });
    expect(await cli('job', 'apply', '-f', file)).toMatchObject({
      code: 0,
      out: 'nightly: unchanged\n',
    });

    const list = await cli('job', 'list', '--json');
    expect(list.code).toBe(0);
    const jobs = list.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { jobId: string; status: string });
    expect(jobs).toEqual([expect.objectContaining({ jobId: 'nightly', status: 'active' })]);

    const view = await watch(rt);
    const trig = await cli('job', 'trigger', 'nightly', '--id', 'cli1', '--params', '{"to":"cli"}');
    expect(trig.code).toBe(0);
    const { instanceId } = JSON.parse(trig.out) as { instanceId: string };
    await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'succeeded', 15_000);
    await view.stop();

    const show = await cli('instance', 'show', instanceId, '--json');
    expect(JSON.parse(show.out)).toMatchObject({
      instanceId,
      status: 'succeeded',
      result: 'sent',
      params: { to: 'cli' },
    });
    const logs = await cli('instance', 'logs', instanceId, '--json');
    expect(
      logs.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; fields: unknown }),
    ).toEqual([expect.objectContaining({ msg: 'sending the report', fields: { to: 'cli' } })]);
  });

  it('refuses a bad job file, naming the field, and changes nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'jetsched-cli-'));
    const file = join(dir, 'bad.json');
    await writeFile(
      file,
      JSON.stringify([
        { name: 'ok-one', processor: 'sendReport', group: 'reports', schedule: { every: '1m' } },
        { name: 'bad', processor: 'p', schedule: { cron: 'nonsense' } },
      ]),
    );
    const before = (await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq;
    const r = await cli('job', 'apply', '-f', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/schedule\.cron/);
    expect((await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq).toBe(before);
  });

  it('triggers a job once per line of a JSON-lines file, and refuses a file with a line that is not JSON, sending nothing', async () => {
    await cli(
      'job',
      'create',
      '--name',
      'each',
      '--processor',
      'sendReport',
      '--group',
      'reports',
      '--manual',
    );
    const dir = await mkdtemp(join(tmpdir(), 'jetsched-cli-'));
    const file = join(dir, 'runs.jsonl');
    await writeFile(file, ['{"to":"a"}', '{"to":"b"}', '', '{"to":"c"}', ''].join('\n'));
    const view = await watch(rt);
    const r = await cli('job', 'trigger', 'each', '--each', file);
    expect(r.code, r.err).toBe(0);
    const runs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { instanceId: string });
    expect(runs).toHaveLength(3);
    await view.waitUntil(
      (s) => runs.every((x) => s.instances.get(x.instanceId)?.status === 'succeeded'),
      15_000,
    );
    expect(runs.map((x) => view.state.instances.get(x.instanceId)?.params)).toEqual([
      { to: 'a' },
      { to: 'b' },
      { to: 'c' },
    ]);
    await view.stop();

    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"to":"a"}\nnot json\n');
    const before = (await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq;
    const refused = await cli('job', 'trigger', 'each', '--each', bad);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/line 2: not JSON/);
    const both = await cli('job', 'trigger', 'each', '--each', file, '--id', 'x');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--each: give --params and --id, or --each, not both/);
    expect((await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq).toBe(before);
  });

  it('fires a delayed trigger after the scheduler restarts (the trigger is an event)', async () => {
    await cli(
      'job',
      'create',
      '--name',
      'later',
      '--processor',
      'sendReport',
      '--group',
      'reports',
      '--manual',
      '--params',
      '{"to":"x"}',
    );
    await stop(); // the scheduler and worker go away…
    const t = await cli('job', 'trigger', 'later', '--delay', '1s', '--id', 'd1'); // …the command runs locally
    expect(t.code).toBe(0);
    const server = await startServer({ runtime: rt, log: silent }); // a new scheduler comes up
    const worker = createWorker({
      runtime: rt,
      group: 'reports',
      log: silent,
      processors: { sendReport: async () => 'late' },
    });
    await worker.start();
    stop = async () => {
      await worker.drain();
      await server.stop();
    };
    const view = await watch(rt);
    await view.waitUntil((s) => s.instances.get('later~t-d1')?.status === 'succeeded', 15_000);
    const fired = view.state.instances.get('later~t-d1')!;
    expect(fired.fireTimeMs).toBeGreaterThan(0);
    await view.stop();
  });
});
