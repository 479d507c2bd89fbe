import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { JetschedError } from '../../events/errors.js';

/** The metrics endpoint could not listen where it was asked to (the port taken, say). */
export class MetricsListenError extends JetschedError {
  constructor(
    readonly host: string,
    readonly port: number,
    cause: unknown,
  ) {
    const why = (cause as NodeJS.ErrnoException | undefined)?.code ?? String(cause);
    super('METRICS_LISTEN', `the metrics endpoint cannot listen on ${host}:${port}: ${why}`, {
      cause,
    });
  }
}

/**
 * A registry for one process: Node's own metrics (CPU, memory, event-loop delay, GC), and every
 * metric labelled with what the process is (`role`: scheduler or worker; `member`: its id, as in
 * `jetsched status`), now or later with `setDefaultLabels`.
 */
export function processRegistry(labels?: {
  role: 'scheduler' | 'worker';
  member: string;
}): Registry {
  const registry = new Registry();
  if (labels) registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MetricsEndpoint {
  /** Where Prometheus scrapes, e.g. http://127.0.0.1:9464/metrics. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` over HTTP: `GET /metrics` in Prometheus' text format, `GET /healthz` answers
 * 200 while the process runs; anything else is 404. A failed collection answers 500 and is logged.
 */
export async function serveMetrics(
  registry: Registry,
  { host, port, log }: { host: string; port: number; log: Logger },
): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/healthz')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => {
        log.error({ err }, 'collecting metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('collecting metrics failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MetricsListenError(host, port, err)));
    server.listen({ host, port }, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  server.on('error', (err) => log.error({ err }, 'metrics endpoint failed'));
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
