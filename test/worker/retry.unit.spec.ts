import { JetStreamApiError } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { ConcurrencyError, ValidationError } from '../../src/events/errors.js';
import {
  NoStreamResponderError,
  PublisherClosedError,
  PublishTimeoutError,
} from '../../src/events/publisher.js';
import { isTransient, JS_DUPLICATE_ID_IN_PROCESS } from '../../src/services/worker/retry.js';

const apiError = (err_code: number, description: string) =>
  new JetStreamApiError({ code: 400, err_code, description });

describe('which append failures a worker tries again', () => {
  it('retries what may not have been answered: timeouts, no responders, a lost connection', () => {
    expect(isTransient(new PublishTimeoutError('s', 200))).toBe(true);
    expect(isTransient(new NoStreamResponderError('s'))).toBe(true);
    expect(isTransient(new PublisherClosedError('s'))).toBe(true);
    expect(isTransient(new Error('TIMEOUT'))).toBe(true);
  });

  it('retries a message id still in process on a clustered stream: the retry gets the duplicate ack', () => {
    expect(
      isTransient(apiError(JS_DUPLICATE_ID_IN_PROCESS, 'duplicate message id is in process')),
    ).toBe(true);
  });

  it('takes every other answer of the server, and our own refusals, as final', () => {
    expect(isTransient(apiError(10071, 'wrong last sequence: 5'))).toBe(false);
    expect(isTransient(apiError(10059, 'stream not found'))).toBe(false);
    expect(isTransient(new ConcurrencyError('s', 1))).toBe(false);
    expect(isTransient(new ValidationError('event', [{ path: 'data', message: 'bad' }]))).toBe(
      false,
    );
    expect(isTransient(new TypeError('BigInt'))).toBe(false);
  });
});
