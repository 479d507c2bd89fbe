import type { ReadRange } from '../../events/ordered-read.js';
import type { NatsOptions } from '../connect.js';

/** What a reader thread is started with. */
export interface ReaderThreadData {
  nats: NatsOptions & { servers: string };
  range: ReadRange;
  limits: ChunkLimits;
}

export interface ChunkLimits {
  /** Messages per chunk, at most. */
  messages: number;
  /** Chunks handed over and not yet visited, beyond which flow-control answers wait. */
  waiting: number;
}

/** What a read in a thread did. */
export interface ReadStats {
  chunks: number;
  /** Flow-control answers held back because too many chunks waited: delivery paused. */
  heldAnswers: number;
}

/**
 * Messages read by the thread, in order: their bytes as received, one after another in `bytes`
 * (message i ends at byte `ends[i]`), with their sequences, storage times and subjects. The byte
 * arrays are transferred, not copied; the reading thread makes each message's text itself.
 */
export interface Chunk {
  type: 'chunk';
  count: number;
  bytes: Uint8Array<ArrayBuffer>;
  ends: Uint32Array<ArrayBuffer>;
  seqs: Float64Array<ArrayBuffer>;
  times: Float64Array<ArrayBuffer>;
  subjects: string[];
}

/** The read finished at `last` (0 when nothing matched). */
export interface Done {
  type: 'done';
  last: number;
  stats: ReadStats;
}

/** The read failed; the error as plain data (an Error's own fields cross threads as such). */
export interface Failed {
  type: 'failed';
  error: { name: string; message: string; fields: Record<string, unknown> };
}

/** The read replaced its consumer (see ReadHooks.onReset). */
export interface Reset {
  type: 'reset';
  why: string;
  atSeq: number;
}

export type FromThread = Chunk | Reset | Done | Failed;

/** The main thread visited a chunk: the reader may hand over another. */
export interface Credit {
  type: 'credit';
}
