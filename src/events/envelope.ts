import { z } from 'zod';

export const ActorKind = {
  Scheduler: 'scheduler',
  Worker: 'worker',
  Client: 'client',
  System: 'system',
} as const;
export type ActorKind = (typeof ActorKind)[keyof typeof ActorKind];

/** Who wrote an event or sent a command. */
export const actorSchema = z.strictObject({
  kind: z.enum(['scheduler', 'worker', 'client', 'system']),
  id: z.string().min(1).max(200),
});
export type Actor = z.infer<typeof actorSchema>;

/** Fields every event and command carries besides `type`, `v` and `data`. */
export const envelopeFields = {
  /** Unique id; also the JetStream message id, so a re-sent append is stored once. */
  id: z.string().min(1).max(300),
  /** When the writer created it, epoch milliseconds (the writer's clock). */
  atMs: z.number().int().nonnegative(),
  actor: actorSchema,
  /** Id of the event or command that caused this one. */
  causationId: z.string().max(300).optional(),
  /** Id shared by everything one request set in motion. */
  correlationId: z.string().max(300).optional(),
};

/** Builds the schema of one versioned message type: `{ type, v, ...envelope, data }`. */
export function message<T extends string, V extends number, D extends z.ZodType>(
  type: T,
  v: V,
  data: D,
) {
  return z.strictObject({ type: z.literal(type), v: z.literal(v), ...envelopeFields, data });
}

export interface EnvelopeMeta {
  id: string;
  atMs: number;
  actor: Actor;
  causationId?: string;
  correlationId?: string;
}
