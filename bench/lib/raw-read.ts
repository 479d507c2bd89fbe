import { readOrdered } from '../../src/events/ordered-read.js';
import type { Runtime } from '../../src/services/runtime.js';

/**
 * Reads the whole event stream up to sequence `end` with the reader a rebuild uses
 * (`readOrdered`: an ephemeral push consumer on a plain subscription), in this thread, counting
 * the messages without decoding them: the physical limit of a rebuild's read. Resolves with the
 * count once `end` was delivered.
 */
export async function readCounted(rt: Runtime, end: number): Promise<number> {
  let n = 0;
  await readOrdered(
    rt.nc,
    rt.jsm,
    { stream: rt.names.eventStream, filters: [], fromSeq: 1, end, stallMs: 5000, resumes: 3 },
    () => n++,
  );
  return n;
}
