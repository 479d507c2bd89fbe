import type { Command } from 'commander';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MetricsEndpoint } from '../services/metrics/index.js';
import { parseIntFlag } from './parse.js';

/** The flags of a long-running command that serves Prometheus metrics. */
export interface MetricsFlags {
  metricsPort?: string;
  metricsHost: string;
}

export function addMetricsOptions(cmd: Command): Command {
  return cmd
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://<host>:<port>/metrics and a health check at /healthz (0: any free port; off when not given)',
    )
    .option(
      '--metrics-host <host>',
      'address the metrics endpoint listens on (0.0.0.0 in a container)',
      '127.0.0.1',
    );
}

/** The port asked for, checked before anything connects; undefined when metrics are off. */
export function metricsPort(o: MetricsFlags): number | undefined {
  return o.metricsPort === undefined
    ? undefined
    : parseIntFlag('--metrics-port', o.metricsPort, 0, 'a port from 0 to 65535', 65_535);
}

type Metrics = typeof import('../services/metrics/index.js');

/**
 * Serves this process's metrics when a port was given: `register` adds what the process is
 * (a scheduler's or a worker's counters) to a registry that already has Node's own. The metrics
 * modules are loaded only then, so that the other commands do not pay for them.
 */
export async function startMetrics(
  port: number | undefined,
  o: MetricsFlags,
  labels: { role: 'scheduler' | 'worker'; member: string },
  register: (registry: Registry, metrics: Metrics) => void,
  log: Logger,
): Promise<MetricsEndpoint | undefined> {
  if (port === undefined) return undefined;
  const metrics = await import('../services/metrics/index.js');
  const { processRegistry, serveMetrics } = metrics;
  const registry = processRegistry(labels);
  register(registry, metrics);
  const endpoint = await serveMetrics(registry, { host: o.metricsHost, port, log });
  log.info({ url: endpoint.url }, 'serving metrics');
  return endpoint;
}
