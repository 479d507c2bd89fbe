import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  encodeEvent,
  makeEvent,
  PayloadTooLargeError,
  ValidationError,
} from '../../src/events/index.js';

const ctx = { actor: { kind: 'scheduler' as const, id: 's1' }, nowMs: 1_700_000_000_000 };
const fired = () =>
  makeEvent(
    'JobFired',
    { jobId: 'report', instanceId: 'report~1', fireTimeMs: 1000, reason: 'schedule', runNumber: 1 },
    ctx,
    'fire:report:1000',
  );

function expectValidationError(fn: () => unknown, field: string): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).field).toBe(field);
    expect((err as ValidationError).message).toContain(field);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('event codec', () => {
  it('round-trips a valid event', () => {
    const event = fired();
    const decoded = decodeEvent(encodeEvent(event));
    expect(decoded).toEqual({ ok: true, event });
  });

  it('rejects an event with a missing field, naming the field', () => {
    const event = fired() as unknown as { data: Record<string, unknown> };
    delete event.data.fireTimeMs;
    expectValidationError(() => encodeEvent(event), 'data.fireTimeMs');
  });

  it('rejects an event with a field of the wrong type, naming the field', () => {
    const event = fired() as unknown as { data: Record<string, unknown> };
    event.data.runNumber = 'one';
    expectValidationError(() => encodeEvent(event), 'data.runNumber');
  });

  it('rejects an unknown field, naming it', () => {
    const event = { ...fired(), data: { ...fired().data, colour: 'red' } };
    const err = expectValidationError(() => encodeEvent(event), 'data.colour');
    expect(err.message).toContain('unknown field');
  });

  it('rejects an unknown event type, naming the type field', () => {
    expectValidationError(() => encodeEvent({ ...fired(), type: 'JobExploded' }), 'type');
  });

  it('rejects an oversized payload, naming the params field', () => {
    const big = makeEvent(
      'JobFired',
      {
        jobId: 'report',
        instanceId: 'report~1',
        fireTimeMs: 1,
        reason: 'manual',
        runNumber: 1,
        params: { blob: 'x'.repeat(300_000) },
      },
      ctx,
    );
    expect(() => encodeEvent(big)).toThrow(PayloadTooLargeError);
    try {
      encodeEvent(big);
    } catch (err) {
      expect((err as PayloadTooLargeError).field).toBe('data.params');
    }
  });

  it('decodes garbage as not-json and never throws', () => {
    expect(decodeEvent(new TextEncoder().encode('{{garbage'))).toMatchObject({
      ok: false,
      reason: 'not-json',
    });
  });

  it('decodes an unknown type as unknown-type', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...fired(), type: 'JobTeleported' }));
    expect(decodeEvent(bytes)).toMatchObject({ ok: false, reason: 'unknown-type' });
  });

  it('decodes a newer version of a known type as unknown-version', () => {
    const bytes = new TextEncoder().encode(JSON.stringify({ ...fired(), v: 2 }));
    expect(decodeEvent(bytes)).toMatchObject({ ok: false, reason: 'unknown-version' });
  });
});
