import { z } from 'zod';
import { utf8 } from '../../events/utf8.js';

/** One line a processor logged, as stored on `<prefix>.log.<partition>.<instanceId>`. */
export const logLineSchema = z.object({
  atMs: z.number().int().nonnegative(),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  msg: z.string(),
  fields: z.record(z.string(), z.unknown()).optional(),
  attempt: z.number().int().positive(),
  workerId: z.string().min(1),
});
export type LogLine = z.infer<typeof logLineSchema>;

/** Encodes a line; fields that JSON cannot hold (cycles, BigInt) are replaced by a note, never thrown. */
export function encodeLogLine(line: LogLine): Uint8Array {
  try {
    return utf8(JSON.stringify(line));
  } catch (err) {
    const { fields: _dropped, ...rest } = line;
    return utf8(
      JSON.stringify({
        ...rest,
        fields: { unserialisable: err instanceof Error ? err.message : String(err) },
      }),
    );
  }
}
