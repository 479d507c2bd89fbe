import { describe, expect, it } from 'vitest';
import { parseAckReply } from '../../src/events/ordered-read.js';

describe('the delivery facts of a JetStream reply subject', () => {
  const facts = {
    deliveryCount: 1,
    streamSeq: 42,
    deliverySeq: 7,
    timestampMs: 1796514192896,
    pending: 99,
  };

  it('reads the older form: stream, consumer, then the numbers', () => {
    expect(parseAckReply('$JS.ACK.events.oc_1.1.42.7.1796514192896000000.99')).toEqual(facts);
  });

  it('reads the newer form, with a domain and account hash, and a random token at the end', () => {
    expect(
      parseAckReply('$JS.ACK.hub.ACCHASH.events.oc_1.1.42.7.1796514192896000000.99.xK3f'),
    ).toEqual(facts);
    expect(parseAckReply('$JS.ACK._.ACCHASH.events.oc_1.1.42.7.1796514192896000000.99')).toEqual(
      facts,
    );
  });

  it('reads how many times the message was delivered (a redelivery counts more than 1)', () => {
    expect(parseAckReply('$JS.ACK.events.oc_1.3.42.7.1796514192896000000.99')?.deliveryCount).toBe(
      3,
    );
    expect(
      parseAckReply('$JS.ACK.hub.ACCHASH.events.oc_1.2.42.7.1796514192896000000.99.xK3f')
        ?.deliveryCount,
    ).toBe(2);
  });

  it('is null for a subject that is no JetStream delivery (flow control, an inbox, a short one)', () => {
    expect(parseAckReply('$JS.FC.events.oc_1.abc')).toBeNull();
    expect(parseAckReply('_INBOX.abc.def')).toBeNull();
    expect(parseAckReply('$JS.ACK.events.oc_1.1.42')).toBeNull();
  });

  it('reads nanoseconds as whole milliseconds, exactly, and a token that is no number as NaN', () => {
    const at = (ts: string) => parseAckReply(`$JS.ACK.events.oc_1.1.42.7.${ts}.99`)?.timestampMs;
    expect(at('1796514192896999999')).toBe(1796514192896);
    expect(at('999999')).toBe(0);
    expect(at('1000000')).toBe(1);
    expect(
      parseAckReply('$JS.ACK.events.oc_1.1.4x2.7.1796514192896000000.99')?.streamSeq,
    ).toBeNaN();
    expect(parseAckReply('$JS.ACK.events.oc_1.1..7.1796514192896000000.99')?.streamSeq).toBeNaN();
  });
});
