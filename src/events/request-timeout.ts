import { TimeoutError } from '@nats-io/transport-node';

/**
 * A JetStream API request got no answer in time. Transient (a leader election, a busy meta
 * leader); the message names what was asked, where the client's own error says only "timeout".
 */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly what: string,
    options: { cause: unknown },
  ) {
    super(`JetStream did not answer in time: ${what}`, options);
  }
}

/** Awaits a JetStream API request; a timeout comes back as a {@link RequestTimeoutError} naming `what`. */
export async function asking<T>(what: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof TimeoutError) throw new RequestTimeoutError(what, { cause: err });
    throw err;
  }
}
