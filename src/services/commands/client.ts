import { randomUUID } from 'node:crypto';
import { errors } from '@nats-io/transport-node';
import type { Runtime } from '../runtime.js';
import type { Actor } from '../../events/envelope.js';
import { JetschedError, ValidationError } from '../../events/errors.js';
import { subjects } from '../../events/subjects.js';
import type { CommandType } from '../../domain/commands.js';
import { createCommandHandler, type CommandReply } from './handler.js';

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

/**
 * Sends commands to `<prefix>.cmd.<Type>` (request-reply). With `localFallback`, a command nobody
 * answers (no server running) is executed in this process against the stream instead, with the
 * same validation and concurrency checks.
 */
export function createClient(
  rt: Runtime,
  opts: { actor?: Actor; timeoutMs?: number; localFallback?: boolean } = {},
) {
  const actor = opts.actor ?? { kind: 'client' as const, id: `cli-${process.pid}` };
  let local: ReturnType<typeof createCommandHandler> | undefined;

  async function send(type: CommandType, data: unknown): Promise<CommandReply & { ok: true }> {
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
export type Client = ReturnType<typeof createClient>;
