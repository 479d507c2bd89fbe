import { describe, expect, it } from 'vitest';
import { TimeoutError } from '@nats-io/transport-node';
import { JetStreamApiError } from '@nats-io/jetstream';
import { asking, RequestTimeoutError } from '../../src/events/request-timeout.js';
import { isTransient } from '../../src/services/worker/retry.js';

describe('a JetStream request that gets no answer', () => {
  it('fails naming what was asked, keeping the client error as its cause, and stays transient', async () => {
    const timeout = new TimeoutError();
    const failed = asking('the last message on x.evt.1.job.a', Promise.reject(timeout));
    await expect(failed).rejects.toBeInstanceOf(RequestTimeoutError);
    await expect(failed).rejects.toMatchObject({
      what: 'the last message on x.evt.1.job.a',
      message: 'JetStream did not answer in time: the last message on x.evt.1.job.a',
      cause: timeout,
    });
    expect(isTransient(await failed.catch((e: unknown) => e))).toBe(true);
  });

  it('passes answers and refusals through as they are', async () => {
    expect(await asking('a', Promise.resolve(7))).toBe(7);
    const refusal = new JetStreamApiError({
      code: 404,
      err_code: 10059,
      description: 'stream not found',
    });
    await expect(asking('b', Promise.reject(refusal))).rejects.toBe(refusal);
  });
});
