import { DeliverPolicy, JetStreamApiError } from '@nats-io/jetstream';
import type { Runtime } from '../runtime.js';
import { subjects } from '../../events/subjects.js';
import { logLineSchema, type LogLine } from './log-line.js';

const decoder = new TextDecoder();

/** A stored log line with its stream sequence. */
export interface StoredLogLine extends LogLine {
  seq: number;
}

/**
 * Reads an instance's log lines in the order they were stored, up to the last line present when
 * called. `partition` narrows the read to one subject; without it every partition is searched.
 * Lines that do not fit the schema are logged (with their sequence) and skipped.
 */
export async function readInstanceLogs(
  runtime: Pick<Runtime, 'js' | 'jsm' | 'names' | 'log'>,
  instanceId: string,
  partition?: number,
): Promise<StoredLogLine[]> {
  const { js, names, log } = runtime;
  const filter =
    partition === undefined
      ? subjects.anyLog(names, instanceId)
      : subjects.log(names, partition, instanceId);
  const end = await lastSeq(runtime, filter);
  if (end === 0) return [];

  const consumer = await js.consumers.get(names.logStream, {
    filter_subjects: [filter],
    deliver_policy: DeliverPolicy.All,
  });
  const lines: StoredLogLine[] = [];
  const messages = await consumer.consume({ max_messages: 1024 });
  try {
    for await (const m of messages) {
      if (m.seq > end) break;
      const parsed = parseLine(m.data);
      if (parsed.ok) lines.push({ ...parsed.line, seq: m.seq });
      else
        log.warn(
          { seq: m.seq, subject: m.subject, detail: parsed.detail },
          'skipped an unreadable instance log line',
        );
      if (m.seq >= end || m.info.pending === 0) break;
    }
  } finally {
    await messages.close();
  }
  return lines;
}

function parseLine(bytes: Uint8Array): { ok: true; line: LogLine } | { ok: false; detail: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
  const parsed = logLineSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, line: parsed.data }
    : { ok: false, detail: parsed.error.message };
}

async function lastSeq(runtime: Pick<Runtime, 'jsm' | 'names'>, subject: string): Promise<number> {
  try {
    const m = await runtime.jsm.streams.getMessage(runtime.names.logStream, {
      last_by_subj: subject,
    });
    return m?.seq ?? 0;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10037) return 0; // no message found
    throw err;
  }
}
