export { createWorker, DEFAULT_RECORD_START_AFTER_MS } from './worker.js';
export { readInstanceLogs, type StoredLogLine } from './instance-logs.js';
export { logLineSchema, type LogLine } from './log-line.js';
export { workerHeartbeatKey, type WorkerHeartbeat } from './heartbeat.js';
export { taskConsumerName } from './task-consumer.js';
export {
  AbortReason,
  AttemptAbortedError,
  AttemptEndedError,
  UnknownProcessorError,
  WorkerAbsentError,
} from './errors.js';
export type {
  LogFields,
  Processor,
  RunBegan,
  TaskContext,
  TaskLogger,
  TaskLogLevel,
  Worker,
  WorkerOptions,
  WorkerStats,
} from './types.js';
