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

/** A process's metrics, made before its service starts and served once it runs. */
export interface ProcessMetrics {
  registry: Registry;
  /** The metrics modules, loaded only when metrics are on (the other commands do not pay for them). */
  m: Metrics;
  /** Labels every sample with what the process is, and serves the registry. */
  serve(labels: { role: 'scheduler' | 'worker'; member: string }): Promise<MetricsEndpoint>;
}

/** Undefined when no port was given; else a registry with Node's own metrics, not yet served. */
export async function processMetrics(
  port: number | undefined,
  o: MetricsFlags,
  log: Logger,
): Promise<ProcessMetrics | undefined> {
  if (port === undefined) return undefined;
  const m = await import('../services/metrics/index.js');
  const registry = m.processRegistry();
  return {
    registry,
    m,
    async serve(labels) {
      registry.setDefaultLabels(labels);
      const endpoint = await m.serveMetrics(registry, { host: o.metricsHost, port, log });
      log.info({ url: endpoint.url }, 'serving metrics');
      return endpoint;
    },
  };
}
