import { z } from 'zod';
import { jobEventSchemas } from './job-events.js';
import { instanceEventSchemas } from './instance-events.js';

/** Every event jetsched writes, discriminated on `type`. */
export const eventSchema = z.discriminatedUnion('type', [
  ...jobEventSchemas,
  ...instanceEventSchemas,
]);
export type JetschedEvent = z.infer<typeof eventSchema>;
export type EventType = JetschedEvent['type'];
export type EventOf<T extends EventType> = Extract<JetschedEvent, { type: T }>;
export type EventData<T extends EventType> = EventOf<T>['data'];

export type JobEvent = z.infer<(typeof jobEventSchemas)[number]>;
export type InstanceEvent = z.infer<(typeof instanceEventSchemas)[number]>;

/** The schema of each event type, by type. */
export const EVENT_SCHEMAS: ReadonlyMap<string, (typeof eventSchema.options)[number]> = new Map(
  [...jobEventSchemas, ...instanceEventSchemas].map((s) => [s.shape.type.value, s]),
);

export const EVENT_TYPES: ReadonlySet<string> = new Set(EVENT_SCHEMAS.keys());

/** An event as read back from the stream. */
export interface StoredEvent<E extends JetschedEvent = JetschedEvent> {
  seq: number;
  subject: string;
  /** When the stream stored it (server clock), epoch ms. */
  storedAtMs: number;
  event: E;
}
