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
}

interface SnapshotMeta {
  seq: number;
  savedAtMs: number;
  generation: string;
  chunks: number;
  bytes: number;
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
    return {
      seq: meta.seq,
      savedAtMs: meta.savedAtMs,
      state: JSON.parse(decoder.decode(all)) as T,
    };
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
