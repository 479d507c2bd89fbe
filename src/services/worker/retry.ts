import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiError } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { JetschedError } from '../../events/errors.js';

/**
 * JetStream's answer while another publish with the same message id is still being stored
 * (clustered streams): not a refusal; a retry gets the duplicate ack once that copy is stored.
 */
export const JS_DUPLICATE_ID_IN_PROCESS = 10158;

/**
 * True for failures where the server may not have answered (timeouts, no responders during a
 * leader election, a lost connection) or asked to be asked again (a message id still in process).
 * A refusal (ConcurrencyError), an invalid payload, or any other answer from the server is final.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof JetStreamApiError) return err.code === JS_DUPLICATE_ID_IN_PROCESS;
  if (err instanceof JetschedError) return false;
  if (err instanceof TypeError || err instanceof RangeError) return false; // e.g. JSON of a BigInt
  return true;
}

/** An append, a decoded payload or a serialisation problem of ours: turning it into a failure report is right. */
export function isPayloadProblem(err: unknown): boolean {
  return (
    (err instanceof JetschedError &&
      (err.code === 'VALIDATION' || err.code === 'PAYLOAD_TOO_LARGE')) ||
    err instanceof TypeError ||
    err instanceof RangeError
  );
}

/**
 * Runs `fn` again after transient failures, with capped exponential backoff, while `canRetry()`
 * holds and, with `forMs`, until that long has passed since the first try. `fn` must be safe to
 * repeat (our appends carry a message id).
 */
export async function retrying<T>(
  fn: () => Promise<T>,
  o: { what: string; log: Pick<Logger, 'warn'>; canRetry: () => boolean; forMs?: number },
): Promise<T> {
  const until = performance.now() + (o.forMs ?? Number.POSITIVE_INFINITY);
  for (let tries = 1; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || performance.now() >= until || !o.canRetry()) throw err;
      const delayMs = Math.min(5000, 100 * 2 ** (tries - 1));
      o.log.warn({ err, what: o.what, tries, delayMs }, 'transient failure; retrying');
      await sleep(delayMs);
    }
  }
}
