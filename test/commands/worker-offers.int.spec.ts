/**
 * A registration names a processor; the command endpoint checks it against what the live workers
 * of the job's group offer, read from their heartbeats. A heartbeat value written by something
 * else says nothing about processors: it is passed over, not a reason to refuse every command.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createCommandHandler } from '../../src/services/commands/handler.js';
import { workerHeartbeatKey, type WorkerHeartbeat } from '../../src/services/worker/heartbeat.js';
import { commandOf as command } from '../support/commands.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();
const spec = (name: string, processor: string) => ({
  spec: { name, group: 'g', processor, schedule: { manual: true } },
});

describe('the processors a registration may name', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const live: WorkerHeartbeat = {
      kind: 'worker',
      id: 'w-1',
      group: 'g',
      processors: ['ok'],
      capacity: 4,
      running: 0,
      startedAtMs: Date.now(),
      version: 'test',
    };
    await rt.buckets.heartbeats.put(workerHeartbeatKey('w-1'), JSON.stringify(live));
    await rt.buckets.heartbeats.put(workerHeartbeatKey('junk'), 'not a heartbeat');
    await rt.buckets.heartbeats.put(workerHeartbeatKey('odd'), JSON.stringify({ group: 7 }));
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('are those the live workers of the group offer, whatever else the heartbeat bucket holds', async () => {
    const handler = createCommandHandler(rt, { log: silent });

    const refused = await handler.handle(command('RegisterJob', spec('a', 'nope')));
    const accepted = await handler.handle(command('RegisterJob', spec('b', 'ok')));

    expect(refused).toMatchObject({ ok: false, error: { code: 'VALIDATION' } });
    const message = refused.ok ? '' : refused.error.message;
    expect(message).toContain('data.spec.processor');
    expect(message).toContain('the 1 live worker(s) of group "g" offer "ok"');
    expect(accepted).toMatchObject({ ok: true, appended: [{ type: 'JobDefined' }] });
  });
});
