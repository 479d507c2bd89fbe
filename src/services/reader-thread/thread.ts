/**
 * Entry of a reader thread (worker_threads): reads a range of the event stream with its own
 * connection and hands the messages to the thread that started it in chunks, holding the server's
 * flow control back while too many chunks wait to be visited.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { jetstreamManager } from '@nats-io/jetstream';
import { readOrdered } from '../../events/ordered-read.js';
import { connectNats } from '../connect.js';
import type { Chunk, Credit, FromThread, ReaderThreadData, ReadStats } from './chunk.js';

/** A chunk is handed over when its messages (see ChunkLimits), its bytes or its age reach a limit. */
const CHUNK_BYTES = 1 << 20;
const CHUNK_AGE_MS = 5;

if (!parentPort) throw new Error('reader-thread/thread.js runs as a worker thread');
const port = parentPort;
const { nats, range, limits } = workerData as ReaderThreadData;
const CHUNK_MESSAGES = limits.messages;
const MAX_WAITING = limits.waiting;
const stats: ReadStats = { chunks: 0, heldAnswers: 0 };
const send = (m: FromThread, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let bytes = new Uint8Array(CHUNK_BYTES);
let used = 0;
let count = 0;
let byteEnds = new Uint32Array(CHUNK_MESSAGES);
let seqs = new Float64Array(CHUNK_MESSAGES);
let times = new Float64Array(CHUNK_MESSAGES);
let subjects: string[] = [];
let timer: NodeJS.Timeout | undefined;
let waiting = 0;
let held: (() => void)[] = [];

function handOver(): void {
  clearTimeout(timer);
  timer = undefined;
  if (count === 0) return;
  // Bytes cross as they are: a text of a whole chunk would be a large string, which costs about
  // ten times more per byte to make (and again to copy into the other thread) than one message's.
  const chunk: Chunk = {
    type: 'chunk',
    count,
    bytes: bytes.subarray(0, used),
    ends: byteEnds.subarray(0, count),
    seqs,
    times,
    subjects,
  };
  send(chunk, [bytes.buffer, byteEnds.buffer, seqs.buffer, times.buffer]);
  waiting++;
  stats.chunks++;
  used = 0;
  count = 0;
  bytes = new Uint8Array(CHUNK_BYTES);
  byteEnds = new Uint32Array(CHUNK_MESSAGES);
  seqs = new Float64Array(CHUNK_MESSAGES);
  times = new Float64Array(CHUNK_MESSAGES);
  subjects = [];
}

function add(seq: number, subject: string, storedAtMs: number, data: Uint8Array): void {
  if (used + data.byteLength > bytes.byteLength) {
    handOver();
    if (data.byteLength > bytes.byteLength) bytes = new Uint8Array(data.byteLength);
  }
  bytes.set(data, used);
  used += data.byteLength;
  byteEnds[count] = used;
  seqs[count] = seq;
  times[count] = storedAtMs;
  subjects.push(subject);
  count++;
  if (count === CHUNK_MESSAGES) handOver();
  else timer ??= setTimeout(handOver, CHUNK_AGE_MS);
}

port.on('message', (m: Credit) => {
  if (m.type !== 'credit') return;
  waiting--;
  if (waiting < MAX_WAITING) {
    const answers = held;
    held = [];
    for (const answer of answers) answer();
  }
});

try {
  const nc = await connectNats({ ...nats, name: `${nats.name ?? 'jetsched'}-reader` });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const last = await readOrdered(nc, jsm, range, add, {
      flowControl: (answer) => {
        if (waiting < MAX_WAITING) answer();
        else {
          stats.heldAnswers++;
          held.push(answer);
        }
      },
      onReset: (why, atSeq) => send({ type: 'reset', why, atSeq }),
    });
    handOver();
    send({ type: 'done', last, stats });
  } finally {
    await nc.close();
  }
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  send({
    type: 'failed',
    error: { name: e.name, message: e.message, fields: { ...(e as object) } },
  });
}
port.close();
