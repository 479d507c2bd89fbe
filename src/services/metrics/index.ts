export {
  MetricsListenError,
  processRegistry,
  serveMetrics,
  type MetricsEndpoint,
} from './serve.js';
export { registerSchedulerMetrics } from './scheduler-metrics.js';
export { observeStartLateness, registerWorkerMetrics } from './worker-metrics.js';
