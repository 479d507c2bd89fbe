import { DeliverPolicy } from '@nats-io/jetstream';
import type { Runtime } from '../../src/services/runtime.js';

/**
 * Reads the whole event stream up to sequence `end` through an ordered consumer in callback mode
 * (as EventStore.scan reads), counting the messages without decoding them: the physical limit of
 * a rebuild's read. Resolves with the count once `end` was delivered.
 */
export async function readCounted(rt: Runtime, end: number): Promise<number> {
  const consumer = await rt.js.consumers.get(rt.names.eventStream, {
    deliver_policy: DeliverPolicy.All,
  });
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const messages = await consumer.consume({
    max_messages: 2048,
    callback: (m) => {
      n++;
      if (m.seq >= end) done();
    },
  });
  await finished;
  await messages.close();
  return n;
}
