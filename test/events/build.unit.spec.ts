import { describe, expect, it } from 'vitest';
import { causedBy, decodeEvent, encodeEvent, makeEvent } from '../../src/events/index.js';

const ctx = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: 1_700_000_000_000 };
const data = { instanceId: 'report~1000', attempt: 1, workerId: 'w-1' };

describe('makeEvent', () => {
  it('writes the envelope in one order: type, version, id, time, actor, then the data', () => {
    const event = makeEvent('InstanceSucceeded', data, ctx, 'succ:report~1000:1');
    expect(Object.keys(event)).toEqual(['type', 'v', 'id', 'atMs', 'actor', 'data']);
    expect(new TextDecoder().decode(encodeEvent(event))).toBe(
      '{"type":"InstanceSucceeded","v":1,"id":"succ:report~1000:1","atMs":1700000000000,' +
        '"actor":{"kind":"worker","id":"w-1"},' +
        '"data":{"instanceId":"report~1000","attempt":1,"workerId":"w-1"}}',
    );
  });

  it('puts what caused the event and what it belongs to between the actor and the data', () => {
    const event = makeEvent(
      'InstanceSucceeded',
      data,
      causedBy({ id: 'cmd-1', correlationId: 'req-9' }, ctx),
      'succ:report~1000:1',
    );
    expect(Object.keys(event)).toEqual([
      'type',
      'v',
      'id',
      'atMs',
      'actor',
      'causationId',
      'correlationId',
      'data',
    ]);
    expect(decodeEvent(encodeEvent(event))).toEqual({ ok: true, event });
  });

  it('gives an event without an id a fresh one each time', () => {
    const a = makeEvent('InstanceSucceeded', data, ctx);
    const b = makeEvent('InstanceSucceeded', data, ctx);
    expect(a.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.id).not.toBe(b.id);
  });
});
