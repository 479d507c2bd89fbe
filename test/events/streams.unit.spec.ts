import { describe, expect, it } from 'vitest';
import { JetStreamApiError, RetentionPolicy } from '@nats-io/jetstream';
import { eventStreamProblems, probeSubject, whilePlacing } from '../../src/events/streams.js';
import { RequestTimeoutError } from '../../src/events/request-timeout.js';

const noPeers = () =>
  new JetStreamApiError({
    code: 400,
    err_code: 10005,
    description: 'no suitable peers for placement, peer offline',
  });

describe('creating a stream or bucket while the cluster cannot place it yet', () => {
  it('tries again until JetStream places it', async () => {
    let calls = 0;
    const created = await whilePlacing(Date.now() + 5000, () => {
      calls++;
      return calls < 3 ? Promise.reject(noPeers()) : Promise.resolve('placed');
    });
    expect(created).toBe('placed');
    expect(calls).toBe(3);
  });

  it('asks again when JetStream did not answer the request in time', async () => {
    let calls = 0;
    const created = await whilePlacing(Date.now() + 5000, () => {
      calls++;
      return calls < 2
        ? Promise.reject(
            new RequestTimeoutError('creating stream S', { cause: new Error('timeout') }),
          )
        : Promise.resolve('placed');
    });
    expect(created).toBe('placed');
    expect(calls).toBe(2);
  });

  it('gives up with the placement error at the deadline', async () => {
    let calls = 0;
    const gaveUp = whilePlacing(Date.now() + 120, () => {
      calls++;
      return Promise.reject(noPeers());
    });
    await expect(gaveUp).rejects.toMatchObject({ code: 10005 });
    expect(calls).toBeGreaterThan(1);
  });

  it('does not wait out any other refusal', async () => {
    let calls = 0;
    const refused = whilePlacing(Date.now() + 5000, () => {
      calls++;
      return Promise.reject(
        new JetStreamApiError({ code: 400, err_code: 10052, description: 'invalid config' }),
      );
    });
    await expect(refused).rejects.toMatchObject({ code: 10052 });
    expect(calls).toBe(1);
  });
});

describe('the subject that probes whether a new stream is reachable', () => {
  it('is a literal subject the stream captures, each wildcard token replaced', () => {
    expect(probeSubject('js.evt.>')).toBe('js.evt._ready');
    expect(probeSubject('js.task.*')).toBe('js.task._ready');
    expect(probeSubject('js.*.log.>')).toBe('js._ready.log._ready');
    expect(probeSubject('js.plain')).toBe('js.plain');
  });
});

describe('an existing event stream, as the source of truth', () => {
  it('is fit with limits retention and no limit on age, count or size', () => {
    expect(
      eventStreamProblems({
        retention: RetentionPolicy.Limits,
        max_age: 0,
        max_msgs: -1,
        max_bytes: -1,
        max_msgs_per_subject: -1,
      }),
    ).toEqual([]);
  });

  it('is unfit, naming each setting, when the server may remove events from it', () => {
    expect(
      eventStreamProblems({
        retention: RetentionPolicy.Interest,
        max_age: 86_400 * 1e9,
        max_msgs: 1_000_000,
        max_bytes: -1,
        max_msgs_per_subject: 5,
      }),
    ).toEqual([
      'retention "interest" (events would be removed once consumed)',
      'max_age 86400 s',
      'max_msgs 1000000',
      'max_msgs_per_subject 5',
    ]);
  });
});
