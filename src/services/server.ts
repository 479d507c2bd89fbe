import type { Logger } from 'pino';
import type { Runtime } from './runtime.js';
import { createCommandHandler } from './commands/handler.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler/scheduler.js';

export interface ServerOptions extends Omit<SchedulerOptions, 'runtime'> {
  runtime: Runtime;
  log?: Logger;
}

/** `jetsched server`: a scheduler replica plus a command endpoint, over one connection. */
export async function startServer(
  opts: ServerOptions,
): Promise<{ scheduler: Scheduler; stop(): Promise<void> }> {
  const rt = opts.runtime;
  const scheduler = createScheduler(opts);
  const log = (opts.log ?? rt.log).child({ schedulerId: scheduler.schedulerId });
  const commands = createCommandHandler(rt, {
    log,
    ...(opts.clock && { clock: opts.clock }),
  }).serve();
  await scheduler.start();
  log.info({ partitions: rt.partitions, prefix: rt.names.prefix }, 'jetsched server running');
  return {
    scheduler,
    async stop() {
      await commands.stop();
      await scheduler.stop();
    },
  };
}
