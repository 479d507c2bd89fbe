import type { KV, KvEntry } from '@nats-io/kv';
import { z } from 'zod';

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

const snapshotMetaSchema = z.object({
  seq: z.number().int().nonnegative(),
  savedAtMs: z.number(),
  stream: z.string().optional(),
  generation: z.string().min(1),
  chunks: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
});
type SnapshotMeta = z.infer<typeof snapshotMetaSchema>;

/**
 * What is stored under a snapshot's keys is not a snapshot: its meta entry or its state is not
 * what a snapshot store writes (say, a key overwritten by hand or by another tool). Not transient:
 * reading it again gives the same. A failure to reach the bucket is not this error.
 */
export class SnapshotUnreadableError extends Error {
  override readonly name = 'SnapshotUnreadableError';
  constructor(
    readonly key: string,
    why: string,
  ) {
    super(`snapshot ${key} is unreadable: ${why}`);
  }
}

/** The snapshot meta stored under `name`: undefined when there is none. */
function metaOf(name: string, entry: KvEntry | null): SnapshotMeta | undefined {
  if (!entry || entry.operation !== 'PUT') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(entry.string());
  } catch (err) {
    throw new SnapshotUnreadableError(
      name,
      `its meta entry is not JSON (${(err as Error).message})`,
    );
  }
  const meta = snapshotMetaSchema.safeParse(raw);
  if (!meta.success) {
    const issue = meta.error.issues[0];
    const field = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new SnapshotUnreadableError(
      name,
      `its meta entry is not a snapshot's (${field}${issue?.message ?? 'invalid'})`,
    );
  }
  return meta.data;
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
    const meta = metaOf(name, await kv.get(`${name}.meta`));
    if (!meta) return undefined;
    // Asked for all at once: a large state's chunks arrive while the earlier ones are copied.
    const entries = await Promise.all(
      Array.from({ length: meta.chunks }, (_, i) => kv.get(`${name}.${meta.generation}.${i}`)),
    );
    const parts: Uint8Array[] = [];
    for (const e of entries) {
      if (!e || e.operation !== 'PUT') return undefined; // incomplete: treat as no snapshot
      parts.push(e.value);
    }
    const stored = parts.reduce((n, p) => n + p.byteLength, 0);
    if (stored !== meta.bytes)
      throw new SnapshotUnreadableError(
        name,
        `its chunks hold ${stored} bytes, its meta says ${meta.bytes}`,
      );
    const all = new Uint8Array(meta.bytes);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.byteLength;
    }
    let state: T;
    try {
      state = JSON.parse(decoder.decode(all)) as T;
    } catch (err) {
      throw new SnapshotUnreadableError(name, `its state is not JSON (${(err as Error).message})`);
    }
    const snap: Snapshot<T> = { seq: meta.seq, savedAtMs: meta.savedAtMs, state };
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
    // The chunks of the snapshot it replaces go; an unreadable one's cannot be found, and stay.
    const old = (() => {
      try {
        return metaOf(name, previous);
      } catch {
        return undefined;
      }
    })();
    if (old) {
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

/** Where {@link restoreSnapshot} leaves a fold. */
export type SnapshotStart<S> =
  | { kind: 'none' }
  | { kind: 'restored'; seq: number; state: S }
  /** There is a snapshot, but the fold must start from the start of the stream; `why` says why. */
  | { kind: 'passed-over'; seq: number | undefined; why: string; err?: unknown };

/**
 * The snapshot saved under `key`, restored with `fromSnapshot`, when it can start a fold of the
 * event stream as it is now (`streamNow`, asked only when there is a snapshot). A snapshot only
 * saves time: one that is unreadable, in a form this version cannot restore, or not of this
 * stream is passed over, and the stream, which is the truth, is folded from its start instead.
 * A failure to reach the bucket or the stream is thrown: it is transient, and asking again is
 * cheaper than folding the whole stream.
 */
export async function restoreSnapshot<S>(
  store: SnapshotStore,
  key: string,
  fromSnapshot: (data: unknown) => S,
  streamNow: () => Promise<{ created: string; lastSeq: number }>,
): Promise<SnapshotStart<S>> {
  let snap: Snapshot<unknown> | undefined;
  try {
    snap = await store.load<unknown>(key);
  } catch (err) {
    if (err instanceof SnapshotUnreadableError)
      return { kind: 'passed-over', seq: undefined, why: err.message, err };
    throw err;
  }
  if (!snap) return { kind: 'none' };
  const misfit = snapshotMisfit(snap, await streamNow());
  if (misfit) return { kind: 'passed-over', seq: snap.seq, why: misfit };
  try {
    return { kind: 'restored', seq: snap.seq, state: fromSnapshot(snap.state) };
  } catch (err) {
    return {
      kind: 'passed-over',
      seq: snap.seq,
      why: `its state cannot be restored (${(err as Error).message})`,
      err,
    };
  }
}
