import { Buffer } from 'node:buffer';
import { ValidationError, PayloadTooLargeError } from './errors.js';
import { eventSchema, EVENT_SCHEMAS, type JetschedEvent } from './event.js';
import { checkedParser } from './json-check.js';
import { utf8 } from './utf8.js';

const decoder = new TextDecoder();

/** Default cap of one encoded event; the server's max_payload (1 MiB by default) is the hard one. */
export const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Validates an event and encodes it as JSON bytes.
 * Throws ValidationError naming the offending field, or PayloadTooLargeError.
 */
export function encodeEvent(event: unknown, maxBytes = MAX_EVENT_BYTES): Uint8Array {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) {
    const type = (event as { type?: unknown } | null)?.type;
    throw ValidationError.fromZod(
      typeof type === 'string' ? `event ${type}` : 'event',
      parsed.error,
    );
  }
  return encodeTrusted(parsed.data, maxBytes);
}

/** Encodes an event already known to be valid (built by our own typed code paths). */
export function encodeTrusted(event: JetschedEvent, maxBytes = MAX_EVENT_BYTES): Uint8Array {
  const bytes = utf8(JSON.stringify(event));
  if (bytes.byteLength > maxBytes) {
    const params = (event.data as { params?: unknown }).params;
    const paramsBytes =
      params === undefined ? 0 : Buffer.byteLength(JSON.stringify(params), 'utf8');
    const field = paramsBytes > maxBytes / 2 ? 'data.params' : 'event';
    throw new PayloadTooLargeError(field, bytes.byteLength, maxBytes);
  }
  return bytes;
}

export type DecodeFailure = 'not-json' | 'unknown-type' | 'unknown-version' | 'invalid';
export type Decoded =
  { ok: true; event: JetschedEvent } | { ok: false; reason: DecodeFailure; detail: string };

/** Decodes bytes read from the stream; never throws. */
export function decodeEvent(bytes: Uint8Array): Decoded {
  return decodeEventText(decoder.decode(bytes));
}

/** Each event type's parser (zod's, through a compiled check where the type has one). */
const parsers = new Map(
  [...EVENT_SCHEMAS].map(([type, schema]) => [type, checkedParser(schema)] as const),
);

/**
 * Compiles every event type's check now, not when each type is first read: for a process about to
 * fold events (a scheduler), so a type first seen under load does not hold its fold up.
 */
export function warmEventParsers(): void {
  for (const parse of parsers.values()) parse.warm();
}

/**
 * Decodes the JSON text of a message read from the stream; never throws. The event's zod schema
 * decides; where its JSON Schema is exact, a check compiled from it accepts valid events first,
 * without zod's copy (about a third of zod's time), and zod names the field of an invalid one.
 */
export function decodeEventText(text: string): Decoded {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'not-json', detail: (err as Error).message };
  }
  const type = (raw as { type?: unknown } | null)?.type;
  const parse = typeof type === 'string' ? parsers.get(type) : undefined;
  if (typeof type !== 'string' || !parse) {
    return { ok: false, reason: 'unknown-type', detail: `type ${JSON.stringify(type)}` };
  }
  const parsed = parse(raw);
  if (!parsed.success) {
    const v = (raw as { v?: unknown }).v;
    if (typeof v === 'number' && v !== 1) {
      return { ok: false, reason: 'unknown-version', detail: `${type} v${v}` };
    }
    return {
      ok: false,
      reason: 'invalid',
      detail: ValidationError.fromZod(`event ${type}`, parsed.error).message,
    };
  }
  return { ok: true, event: parsed.data };
}
