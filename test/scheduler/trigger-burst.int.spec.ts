/**
 * Many triggers of one job falling due together: a job's fires are serial on its subject, so the
 * scheduler records as many as fit in one append (a JobFiredBatch) instead of one round trip each.
 */
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/services/runtime.js';
import { loadInstance } from '../../src/services/commands/load.js';
import { runAudit } from '../../src/cli/commands/audit.js';
import { MAX_FIRES_PER_BATCH } from '../../src/events/job-events.js';
import { triggersOf } from '../../src/events/batches.js';
import { createClient } from '../../src/services/commands/client.js';
import { isTerminal } from '../../src/projections/instance-view.js';
import { useNats } from '../support/nats.js';
import {
  allEvents,
  ofType,
  triggerBurst,
  waitAllSucceeded,
  useServerAndWorker,
} from './helpers.js';

const nats = useNats();
const TRIGGERS = MAX_FIRES_PER_BATCH + 44;

describe('a burst of triggers on one job', () => {
  let rt: Runtime;
  const ran: string[] = [];

  const env = useServerAndWorker(nats, {
    mail: async (ctx) => {
      ran.push(ctx.instanceId);
      return ctx.params;
    },
  });
  beforeAll(() => {
    rt = env.rt;
  });

  it('is fired in as few appends as fit, each trigger exactly once, and every instance runs once', async () => {
    const ids = await triggerBurst(rt, TRIGGERS);

    await waitAllSucceeded(rt, ids);

    const events = await allEvents(rt);
    const batches = events.filter((e) => e.event.type === 'JobFiredBatch');
    expect(
      batches.map((b) => (b.event.type === 'JobFiredBatch' ? b.event.data.fires.length : 0)),
    ).toEqual([MAX_FIRES_PER_BATCH, TRIGGERS - MAX_FIRES_PER_BATCH]);
    const fires = ofType(events, 'JobFired').filter((f) => f.data.jobId === 'mail');
    expect(fires.map((f) => f.data.instanceId).sort()).toEqual([...ids].sort());
    expect(fires.map((f) => f.data.runNumber)).toEqual(
      Array.from({ length: TRIGGERS }, (_, i) => i + 1),
    );
    const byId = new Map(fires.map((f) => [f.data.instanceId, f.data]));
    expect(byId.get(ids[7]!)).toMatchObject({
      params: { to: 'user-7' },
      dispatch: { processor: 'mail', params: { to: 'user-7' } },
    });
    expect([...ran].sort()).toEqual([...ids].sort());
    const succeeded = ofType(events, 'InstanceSucceeded').map((e) => e.data.instanceId);
    expect(succeeded.sort()).toEqual([...ids].sort());
  });

  it('has each fired instance load from its place in the batch, as commands and audit read it', async () => {
    const loaded = await loadInstance(rt.store, rt.names, rt.partitions, 'mail~t-m299');
    expect(loaded?.view).toMatchObject({
      instanceId: 'mail~t-m299',
      jobId: 'mail',
      processor: 'mail',
      params: { to: 'user-299' },
      status: 'succeeded',
      attempt: 1,
    });
    expect(isTerminal(loaded!.view!.status)).toBe(true);

    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await runAudit(
      rt.store,
      { selector: { kind: 'instance', instanceId: 'mail~t-m299' }, json: false },
      out,
    );
    const lines = Buffer.concat(chunks).toString().trimEnd().split('\n');
    expect(lines.map((l) => l.split('  ')[2])).toEqual([
      `JobFired (batch ${299 - MAX_FIRES_PER_BATCH + 1}/${TRIGGERS - MAX_FIRES_PER_BATCH})`,
      'InstanceSucceeded',
    ]);
    expect(lines[0]).toContain('→ mail~t-m299;');
  });

  it('sent as one TriggerJobs command, is requested by one append and fired the same way, each trigger once', async () => {
    const client = createClient(rt);
    await client.send('RegisterJob', {
      spec: { name: 'bulk', processor: 'mail', schedule: { manual: true } },
    });
    const at = Date.now() + 3000;
    const triggers = Array.from({ length: TRIGGERS }, (_, i) => ({
      jobId: 'bulk',
      at,
      params: { to: `bulk-${i}` },
    }));
    const { result } = await client.send('TriggerJobs', { triggers });
    expect(Date.now()).toBeLessThan(at);
    const ids = (result.triggers as { instanceId: string }[]).map((t) => t.instanceId);

    await waitAllSucceeded(rt, ids);

    const events = (await allEvents(rt)).filter((e) => e.subject.endsWith('.job.bulk'));
    // Requested on the job's trigger subject; fired on its own.
    const requests = (await allEvents(rt))
      .filter((e) => e.subject.endsWith('.trig.bulk'))
      .filter((e) => triggersOf(e.event).length > 0);
    expect(requests.map((e) => e.event.type)).toEqual(['JobTriggerRequestedBatch']);
    const fires = ofType(events, 'JobFired');
    expect(fires.map((f) => f.data.instanceId).sort()).toEqual([...ids].sort());
    expect(new Set(fires.map((f) => f.data.runNumber)).size).toBe(TRIGGERS);
    expect(fires.find((f) => f.data.instanceId === ids[9])?.data.params).toEqual({ to: 'bulk-9' });
    expect(ran.filter((id) => id.startsWith('bulk~')).sort()).toEqual([...ids].sort());
  });

  it('backfilled, a range of ticks is requested by one append, and each tick is fired once, as a backfill of its time', async () => {
    const client = createClient(rt);
    await client.send('RegisterJob', {
      spec: { name: 'hourly', processor: 'mail', schedule: { every: '1h' } },
    });
    const now = Date.now();
    const { result } = await client.send('BackfillJob', {
      jobId: 'hourly',
      from: now - 5 * 3_600_000,
      to: now,
    });
    expect(result).toMatchObject({ ticks: 5 });
    const first = result.first as number;
    const ticks = Array.from({ length: 5 }, (_, i) => first + i * 3_600_000);
    const ids = ticks.map((t) => `hourly~t-bf-${t}`);

    await waitAllSucceeded(rt, ids);

    const events = (await allEvents(rt)).filter((e) => e.subject.endsWith('.job.hourly'));
    const requests = events.filter((e) => triggersOf(e.event).length > 0);
    expect(requests.map((e) => e.event.type)).toEqual(['JobTriggerRequestedBatch']);
    const fires = ofType(events, 'JobFired');
    expect(fires.map((f) => [f.data.instanceId, f.data.reason, f.data.fireTimeMs])).toEqual(
      ticks.map((t, i) => [ids[i], 'backfill', t]),
    );
  });
});
