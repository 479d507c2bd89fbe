import { once } from 'node:events';
import type { Writable } from 'node:stream';

/** Writes one line, waiting for the stream to drain when its buffer is full (large audits, slow pipes). */
export async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}
