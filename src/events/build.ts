import { randomUUID } from 'node:crypto';
import type { Actor, EnvelopeMeta } from './envelope.js';
import type { EventData, EventOf, EventType } from './event.js';

/** What a writer knows about itself and the request it serves, when building events. */
export interface EventContext {
  actor: Actor;
  nowMs: number;
  causationId?: string;
  correlationId?: string;
}

/** The context of the events a command causes: caused by it, correlated with what it was. */
export function causedBy(
  command: { id: string; correlationId?: string | undefined },
  ctx: EventContext,
): EventContext {
  return { ...ctx, causationId: command.id, correlationId: command.correlationId ?? command.id };
}

/**
 * Builds an event. `id` should be deterministic for appends that may be repeated after a crash
 * (it becomes the JetStream message id), e.g. `fire:<jobId>:<fireTimeMs>`.
 */
export function makeEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  ctx: EventContext,
  id: string = randomUUID(),
): EventOf<T> {
  // Written out, not spread (`{ type, v: 1, ...meta, data }`): built and encoded about a sixth
  // faster, and every event is built here. The keys keep their order (the same JSON).
  const { actor, nowMs: atMs, causationId, correlationId } = ctx;
  if (!causationId && !correlationId)
    return { type, v: 1, id, atMs, actor, data } as unknown as EventOf<T>;
  const event: { type: T; v: 1; data?: unknown } & EnvelopeMeta = {
    type,
    v: 1,
    id,
    atMs,
    actor,
  };
  if (causationId) event.causationId = causationId;
  if (correlationId) event.correlationId = correlationId;
  event.data = data;
  return event as unknown as EventOf<T>;
}
