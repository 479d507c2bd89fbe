/**
 * The CPU cost of a rebuild without NATS: the rebuild data set encoded in memory, then decoded
 * (JSON + zod) and folded with scheduleProjection, each stage timed on its own. What is left of a
 * real rebuild's time beyond this is reading (client parsing, the consumer, the server).
 * Usage: node dist/bench/fold.js [events=1000000] [runs=3]
 */
import { datasetHistory } from './lib/dataset.js';
import { names } from '../src/events/subjects.js';
import { encodeEvent, decodeEvent } from '../src/events/codec.js';
import { scheduleProjection } from '../src/projections/projection.js';
import { fmt } from './lib/stats.js';

const count = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 3);
const n = names('fold');
const { events } = datasetHistory(n, 16, { events: count, hotInstances: 100_000 });
const encoded: { subject: string; bytes: Uint8Array }[] = [];
for (const [subject, event] of events) encoded.push({ subject, bytes: encodeEvent(event) });
const total = encoded.length;
console.log(`${total.toLocaleString('en-US')} events encoded in memory`);

function rate(ms: number): string {
  return `${fmt(total / (ms / 1000))} events/s (${fmt((ms * 1000) / total)} µs each)`;
}

for (let run = 1; run <= runs; run++) {
  let t = performance.now();
  let ok = 0;
  for (const e of encoded) if (decodeEvent(e.bytes).ok) ok++;
  const decodeMs = performance.now() - t;
  if (ok !== total) throw new Error(`${total - ok} events did not decode`);

  t = performance.now();
  let state = scheduleProjection.init();
  let seq = 0;
  for (const e of encoded) {
    const d = decodeEvent(e.bytes);
    if (!d.ok) continue;
    seq++;
    state = scheduleProjection.evolve(state, {
      seq,
      subject: e.subject,
      storedAtMs: 0,
      event: d.event,
    });
  }
  const foldMs = performance.now() - t;

  console.log(
    `run ${run}: decode ${rate(decodeMs)}; decode + fold ${rate(foldMs)}; ${state.instances.size.toLocaleString('en-US')} instances`,
  );
}
