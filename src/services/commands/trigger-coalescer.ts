import { NotFoundError, RejectedError, ValidationError } from '../../events/errors.js';
import { MAX_TRIGGERS_PER_COMMAND } from '../../domain/commands.js';
import type { CommandReply } from './handler.js';

type OkReply = CommandReply & { ok: true };

/** What one TriggerJob carries (validated by whoever answers the command). */
export type TriggerData = { jobId: string } & Record<string, unknown>;

export interface TriggerCoalescerDeps {
  /** Sends one TriggerJob command. */
  sendOne(data: TriggerData): Promise<OkReply>;
  /** Sends one TriggerJobs command of these triggers. */
  sendMany(triggers: TriggerData[]): Promise<OkReply>;
  /** Most triggers sent in one command. Default (and at most) {@link MAX_TRIGGERS_PER_COMMAND}. */
  maxTriggers?: number;
  /** Most characters of trigger JSON sent in one command. Default 256 K. */
  maxChars?: number;
}

interface Waiting {
  data: TriggerData;
  chars: number;
  resolve(reply: OkReply): void;
  reject(err: unknown): void;
}

/**
 * Triggers asked for during one turn of the event loop, sent as one TriggerJobs command: a
 * producer that calls TriggerJob once per run, many at a time, gets what TriggerJobs gives (one
 * request and one reply for all, and a job's triggers recorded as one event), and each call still
 * gets the reply a TriggerJob of its own would have had. A trigger alone in its turn goes as a
 * TriggerJob.
 *
 * TriggerJobs refuses all its triggers when one is refused (an unknown job, an invalid field), and
 * refuses them before anything is appended: each is then sent again on its own, so that only the
 * calls at fault fail, each with its own error. Any other failure (a timeout, a lost connection)
 * fails every call of the command, as it would have failed each: whether it was stored is unknown.
 */
export function createTriggerCoalescer(deps: TriggerCoalescerDeps) {
  const maxTriggers = Math.min(
    deps.maxTriggers ?? MAX_TRIGGERS_PER_COMMAND,
    MAX_TRIGGERS_PER_COMMAND,
  );
  const maxChars = deps.maxChars ?? 256 * 1024;
  let queued: Waiting[] = [];
  let chars = 0;
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = queued;
    queued = [];
    chars = 0;
    void send(batch);
  }

  async function send(batch: Waiting[]): Promise<void> {
    const [only] = batch;
    if (!only) return;
    if (batch.length === 1) return settleWith(only, deps.sendOne(only.data));
    let reply: OkReply;
    try {
      reply = await deps.sendMany(batch.map((w) => w.data));
    } catch (err) {
      if (!refusedBeforeAppending(err)) {
        for (const w of batch) w.reject(err);
        return;
      }
      await Promise.all(batch.map((w) => settleWith(w, deps.sendOne(w.data))));
      return;
    }
    const results = (reply.result as { triggers?: Record<string, unknown>[] }).triggers ?? [];
    batch.forEach((w, i) => {
      const result = results[i];
      if (!result) {
        w.reject(new Error(`TriggerJobs answered without a result for trigger ${i}`));
        return;
      }
      const jobId = w.data.jobId;
      w.resolve({
        ok: true,
        result,
        appended: reply.appended.filter((a) => a.jobId === undefined || a.jobId === jobId),
      });
    });
  }

  return {
    /** Sends a TriggerJob, with the others of this turn. Resolves or rejects as `sendOne` would. */
    trigger(data: TriggerData): Promise<OkReply> {
      return new Promise<OkReply>((resolve, reject) => {
        const size = JSON.stringify(data).length;
        if (queued.length >= maxTriggers || (queued.length > 0 && chars + size > maxChars)) {
          // Full: what is queued goes now; this trigger starts the next command.
          const full = queued;
          queued = [];
          chars = 0;
          void send(full);
        }
        queued.push({ data, chars: size, resolve, reject });
        chars += size;
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

async function settleWith(w: Waiting, reply: Promise<OkReply>): Promise<void> {
  try {
    w.resolve(await reply);
  } catch (err) {
    w.reject(err);
  }
}

/**
 * Errors TriggerJobs answers with before it appends anything (its triggers are all checked first):
 * invalid input, an unknown job, a refusal.
 */
function refusedBeforeAppending(err: unknown): boolean {
  if (err instanceof ValidationError) return true;
  if (err instanceof NotFoundError || err instanceof RejectedError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'VALIDATION' || code === 'NOT_FOUND' || code === 'REJECTED';
}
