export {
  NatsServerNotFoundError,
  NatsServerStartError,
  NatsServerTooOldError,
  WaitTimeoutError,
} from './errors.js';
export {
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
  type NatsServerExit,
  type NatsServerHandle,
  type Readiness,
  type StartNatsClusterOptions,
  type StartNatsServerOptions,
} from './embedded-server.js';
export { getJsz, getMonitorJson, type Jsz } from './monitor.js';
export { findProjectRoot } from './project-root.js';
export {
  findNatsServerBinary,
  MIN_NATS_SERVER_VERSION,
  type FindNatsServerOptions,
} from './server-binary.js';
export { waitFor, type WaitForOptions } from './wait.js';
