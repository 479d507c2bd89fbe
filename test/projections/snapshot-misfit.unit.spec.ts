import { describe, expect, it } from 'vitest';
import { snapshotMisfit } from '../../src/projections/snapshot-store.js';

describe('whether a snapshot can start a fold of the event stream as it is now', () => {
  const now = { created: '2026-12-07T10:00:00.000000001Z', lastSeq: 500 };

  it('fits when it was folded from this stream, up to a sequence the stream has reached', () => {
    expect(snapshotMisfit({ seq: 500, stream: now.created }, now)).toBeUndefined();
    expect(snapshotMisfit({ seq: 0, stream: now.created }, now)).toBeUndefined();
  });

  it('does not fit when it was folded from a stream made at another time, whatever its sequence', () => {
    const misfit = snapshotMisfit({ seq: 20, stream: '2026-12-01T09:00:00Z' }, now);
    expect(misfit).toContain('2026-12-01T09:00:00Z');
    expect(misfit).toContain(now.created);
  });

  it('is checked by its sequence alone when it does not say which stream it was folded from', () => {
    expect(snapshotMisfit({ seq: 500 }, now)).toBeUndefined();
    expect(snapshotMisfit({ seq: 501 }, now)).toBe(
      'folded up to sequence 501; the event stream ends at 500',
    );
  });
});
