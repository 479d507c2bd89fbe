import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { subjects, type Names } from '../../events/subjects.js';

const NS_PER_MS = 1_000_000;
/** Tasks handed out and not yet acked, over all workers of a group. */
export const TASK_MAX_ACK_PENDING = 100_000;

/** Durable name of a worker group's shared pull consumer. */
export const taskConsumerName = (group: string): string => `workers-${group}`;

export interface TaskConsumer {
  name: string;
  /** The consumer's actual ack wait (an existing consumer keeps its own). */
  ackWaitMs: number;
}

/**
 * Creates the group's shared durable pull consumer, or finds it. Every worker of the group calls
 * this; identical configs make it idempotent. When the consumer exists with another config (a
 * worker started with a different `ackWaitMs`), the existing one is used as is.
 */
export async function ensureTaskConsumer(
  jsm: JetStreamManager,
  names: Names,
  group: string,
  ackWaitMs: number,
  log: Logger,
): Promise<TaskConsumer> {
  const name = taskConsumerName(group);
  try {
    const info = await jsm.consumers.add(names.taskStream, {
      durable_name: name,
      description: `jetsched: tasks of worker group ${group}`,
      filter_subject: subjects.task(names, group),
      ack_policy: AckPolicy.Explicit,
      ack_wait: ackWaitMs * NS_PER_MS,
      max_ack_pending: TASK_MAX_ACK_PENDING,
      deliver_policy: DeliverPolicy.All,
    });
    return {
      name,
      ackWaitMs: Math.round((info.config.ack_wait ?? ackWaitMs * NS_PER_MS) / NS_PER_MS),
    };
  } catch (err) {
    if (!(err instanceof JetStreamApiError)) throw err;
    // Most likely: it exists with a different config. Use it if it does; otherwise report the first error.
    const info = await jsm.consumers.info(names.taskStream, name).catch(() => undefined);
    if (!info) throw err;
    const existingAckWaitMs = Math.round(
      (info.config.ack_wait ?? ackWaitMs * NS_PER_MS) / NS_PER_MS,
    );
    log.warn(
      { consumer: name, err, ackWaitMs, existingAckWaitMs },
      'task consumer exists with another config; using it as it is',
    );
    return { name, ackWaitMs: existingAckWaitMs };
  }
}
