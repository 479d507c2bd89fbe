import { Buffer } from 'node:buffer';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ThreadReader } from '../../events/event-store.js';
import { ReplayStalledError } from '../../events/ordered-read.js';
import type { NatsOptions } from '../connect.js';
import type {
  ChunkLimits,
  Credit,
  Failed,
  FromThread,
  ReaderThreadData,
  ReadStats,
} from './chunk.js';

const ENTRY = new URL('./thread.js', import.meta.url);

export interface ThreadReaderOptions {
  /** The thread's compiled entry; defaults to the one beside this module. */
  entry?: URL;
  limits?: Partial<ChunkLimits>;
  /** Told what each read did. */
  onRead?: (stats: ReadStats) => void;
}

/**
 * A {@link ThreadReader} that reads in a worker thread connected with `nats`. Undefined when this
 * module runs from TypeScript sources (under the test runner), where the thread's compiled entry
 * does not exist: long reads then stay in the calling thread.
 */
export function createThreadReader(
  nats: NatsOptions & { servers: string },
  { entry = ENTRY, limits, onRead }: ThreadReaderOptions = {},
): ThreadReader | undefined {
  if (!existsSync(fileURLToPath(entry))) return undefined;
  const chunkLimits: ChunkLimits = { messages: 2000, waiting: 4, ...limits };
  return (range, visit, hooks = {}) =>
    new Promise<number>((resolve, reject) => {
      const data: ReaderThreadData = { nats, range, limits: chunkLimits };
      const worker = new Worker(entry, { workerData: data });
      let settled = false;
      /** Settles the read; a thread that did not finish its read is stopped. */
      const settle = (fn: () => void, stop = true) => {
        if (settled) return;
        settled = true;
        fn();
        if (stop) void worker.terminate();
      };
      const credit: Credit = { type: 'credit' };
      worker.on('message', (m: FromThread) => {
        if (settled) return;
        if (m.type === 'done') {
          onRead?.(m.stats);
          // It closes its connection and ends by itself; that must not keep this process alive.
          worker.unref();
          return settle(() => resolve(m.last), false);
        }
        if (m.type === 'failed') return settle(() => reject(fromThread(m.error)));
        if (m.type === 'reset') return hooks.onReset?.(m.why, m.atSeq);
        try {
          const bytes = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
          let from = 0;
          for (let i = 0; i < m.count; i++) {
            const to = m.ends[i] ?? 0;
            const text = bytes.toString('utf8', from, to);
            visit(m.seqs[i] ?? 0, m.subjects[i] ?? '', m.times[i] ?? 0, text);
            from = to;
          }
        } catch (err) {
          return settle(() => reject(err instanceof Error ? err : new Error(String(err))));
        }
        worker.postMessage(credit);
      });
      worker.on('error', (err) => settle(() => reject(err)));
      worker.on('exit', (code) =>
        settle(() => reject(new Error(`the reader thread exited (code ${code}) before the end`))),
      );
    });
}

/** The thread's error as this thread's: a stalled read stays a {@link ReplayStalledError}. */
function fromThread(e: Failed['error']): Error {
  const f = e.fields;
  if (e.name === 'ReplayStalledError')
    return new ReplayStalledError(
      f['filterSubjects'] as string[],
      f['atSeq'] as number,
      f['endSeq'] as number,
      f['silentMs'] as number,
      f['lastReason'] as string | undefined,
    );
  return Object.assign(new Error(e.message), { name: e.name });
}
