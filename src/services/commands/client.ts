import { randomUUID } from 'node:crypto';
import { errors } from '@nats-io/transport-node';
import type { Runtime } from '../runtime.js';
import type { Actor } from '../../events/envelope.js';
import { JetschedError, ValidationError } from '../../events/errors.js';
import { subjects } from '../../events/subjects.js';
import type { CommandType } from '../../domain/commands.js';
import { createCommandHandler, type CommandReply } from './handler.js';
import { createTriggerCoalescer, type TriggerData } from './trigger-coalescer.js';

/** A failed command, as answered by the server. */
export class CommandError extends JetschedError {
  constructor(
    code: string,
    message: string,
    readonly issues?: { path: string; message: string }[],
  ) {
    super(code, message);
  }
}

export interface ClientOptions {
  actor?: Actor;
  /** How long a command's reply is waited for, in ms. Default 30,000. */
  timeoutMs?: number;
  /** Executes a command in this process when no server answers (see {@link createClient}). */
  localFallback?: boolean;
  /**
   * TriggerJob commands sent during one turn of the event loop go as one TriggerJobs command, each
   * call still getting its own reply or error (see {@link createTriggerCoalescer}). Default true.
   */
  coalesceTriggers?: boolean;
}

/**
 * Sends commands to `<prefix>.cmd.<Type>` (request-reply). With `localFallback`, a command nobody
 * answers (no server running) is executed in this process against the stream instead, with the
 * same validation and concurrency checks.
 */
export function createClient(rt: Runtime, opts: ClientOptions = {}) {
  const actor = opts.actor ?? { kind: 'client' as const, id: `cli-${process.pid}` };
  let local: ReturnType<typeof createCommandHandler> | undefined;
  const triggers =
    opts.coalesceTriggers === false
      ? undefined
      : createTriggerCoalescer({
          sendOne: (data) => request('TriggerJob', data),
          sendMany: (list) => request('TriggerJobs', { triggers: list }),
        });

  /** Sends a command; TriggerJob goes with the others of its turn unless coalescing is off. */
  function send(type: CommandType, data: unknown): Promise<CommandReply & { ok: true }> {
    if (type === 'TriggerJob' && triggers && isTrigger(data)) return triggers.trigger(data);
    return request(type, data);
  }

  async function request(type: CommandType, data: unknown): Promise<CommandReply & { ok: true }> {
    const command = { type, v: 1, id: randomUUID(), atMs: Date.now(), actor, data };
    let reply: CommandReply;
    try {
      const msg = await rt.nc.request(subjects.command(rt.names, type), JSON.stringify(command), {
        timeout: opts.timeoutMs ?? 30_000,
      });
      reply = msg.json<CommandReply>();
    } catch (err) {
      const noResponders = err instanceof errors.RequestError && err.isNoResponders();
      if (!(opts.localFallback && noResponders)) throw err;
      local ??= createCommandHandler(rt);
      reply = await local.handle(command);
    }
    if (!reply.ok) {
      if (reply.error.code === 'VALIDATION' && reply.error.issues) {
        throw new ValidationError(type, reply.error.issues);
      }
      throw new CommandError(reply.error.code, reply.error.message, reply.error.issues);
    }
    return reply;
  }
  return { send };
}

/** Data that can go in a TriggerJobs command; anything else is sent as it is, to be refused. */
function isTrigger(data: unknown): data is TriggerData {
  return (
    typeof data === 'object' &&
    data !== null &&
    !Array.isArray(data) &&
    typeof (data as { jobId?: unknown }).jobId === 'string'
  );
}
export type Client = ReturnType<typeof createClient>;
