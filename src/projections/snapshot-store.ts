import type { KV } from '@nats-io/kv';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Stay well under the server's default max_payload (1 MiB). */
const CHUNK_BYTES = 900 * 1024;

export interface Snapshot<T> {
  /** The last stream sequence folded into `state`. */
  seq: number;
  savedAtMs: number;
  state: T;
  /**
   * When the event stream it was folded from was made (see `EventStore.streamState`). Absent in
   * snapshots saved before it was recorded.
   */
  stream?: string;
}

interface SnapshotMeta {
  seq: number;
  savedAtMs: number;
  stream?: string;
  generation: string;
  chunks: number;
  bytes: number;
}

/**
 * Why a snapshot cannot be the start of a fold of the event stream as it is now, or undefined when
 * it can. A snapshot of a stream deleted and made again under the same name would otherwise pass
 * for the new one's, and the new stream's events up to its sequence would never be folded. One
 * saved before the stream was recorded is checked by its sequence alone: no stream ever assigned
 * a sequence past its last one.
 */
export function snapshotMisfit(
  snap: { seq: number; stream?: string | undefined },
  now: { created: string; lastSeq: number },
): string | undefined {
  if (snap.stream !== undefined && snap.stream !== now.created)
    return `folded from the event stream made at ${snap.stream}; the stream now was made at ${now.created}`;
  if (snap.seq > now.lastSeq)
    return `folded up to sequence ${snap.seq}; the event stream ends at ${now.lastSeq}`;
  return undefined;
}

/**
 * Snapshots of projection state in a KV bucket. Large states are split into chunks written
 * under a fresh generation; the small meta key is written last, so a reader never sees a
 * half-written snapshot. Keys: `<name>.meta` and `<name>.<generation>.<i>`.
 */
export function createSnapshotStore(kv: KV) {
  async function load<T>(name: string): Promise<Snapshot<T> | undefined> {
    const metaEntry = await kv.get(`${name}.meta`);
    if (!metaEntry || metaEntry.operation !== 'PUT') return undefined;
    const meta = JSON.parse(metaEntry.string()) as SnapshotMeta;
    // Asked for all at once: a large state's chunks arrive while the earlier ones are copied.
    const entries = await Promise.all(
      Array.from({ length: meta.chunks }, (_, i) => kv.get(`${name}.${meta.generation}.${i}`)),
    );
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      if (!e || e.operation !== 'PUT') return undefined; // incomplete: treat as no snapshot
      parts.push(e.value);
    }
    const all = new Uint8Array(meta.bytes);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.byteLength;
    }
    const snap: Snapshot<T> = {
      seq: meta.seq,
      savedAtMs: meta.savedAtMs,
      state: JSON.parse(decoder.decode(all)) as T,
    };
    if (meta.stream !== undefined) snap.stream = meta.stream;
    return snap;
  }

  async function save<T>(name: string, snap: Snapshot<T>): Promise<void> {
    const previous = await kv.get(`${name}.meta`);
    const bytes = encoder.encode(JSON.stringify(snap.state));
    const generation = `g${snap.seq}x${Date.now().toString(36)}`;
    const chunks = Math.max(1, Math.ceil(bytes.byteLength / CHUNK_BYTES));
    await Promise.all(
      Array.from({ length: chunks }, (_, i) =>
        kv.put(
          `${name}.${generation}.${i}`,
          bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES),
        ),
      ),
    );
    const meta: SnapshotMeta = {
      seq: snap.seq,
      savedAtMs: snap.savedAtMs,
      ...(snap.stream !== undefined && { stream: snap.stream }),
      generation,
      chunks,
      bytes: bytes.byteLength,
    };
    await kv.put(`${name}.meta`, JSON.stringify(meta));
    if (previous?.operation === 'PUT') {
      const old = JSON.parse(previous.string()) as SnapshotMeta;
      if (old.generation !== generation) {
        await Promise.all(
          Array.from({ length: old.chunks }, (_, i) => kv.purge(`${name}.${old.generation}.${i}`)),
        );
      }
    }
  }

  return { load, save };
}
export type SnapshotStore = ReturnType<typeof createSnapshotStore>;
