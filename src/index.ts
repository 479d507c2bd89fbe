/** jetsched's public API: the runtime, the scheduler server, workers, the command client. */
export { openRuntime, type Runtime, type RuntimeOptions } from './services/runtime.js';
export { connectNats, natsOptionsFromEnv, type NatsOptions } from './services/connect.js';
export { startServer, type ServerOptions } from './services/server.js';
export {
  createScheduler,
  type Scheduler,
  type SchedulerOptions,
} from './services/scheduler/scheduler.js';
export { createClient, CommandError, type Client } from './services/commands/client.js';
export { createCommandHandler, type CommandReply } from './services/commands/handler.js';
export * from './services/worker/index.js';
export * from './services/metrics/index.js';
export { NatsServerTooOldError } from './services/nats/errors.js';
export * from './events/index.js';
export * from './projections/index.js';
export {
  jobSpecInputSchema,
  jobSpecSchema,
  type JobSpec,
  type JobSpecInput,
} from './domain/job-spec.js';
export { commandSchema, type Command, type CommandType } from './domain/commands.js';
