import type { Command } from 'commander';
import { startServer } from '../../services/server.js';
import {
  DEFAULT_FIRE_AHEAD_MS,
  DEFAULT_MAX_FIRE_AHEAD_MS,
} from '../../services/scheduler/scheduler.js';
import type { CliDeps } from '../deps.js';
import type { MetricsEndpoint } from '../../services/metrics/index.js';
import { parseNonNegativeInt } from '../parse.js';
import { untilStopSignal } from '../signals.js';
import {
  addMetricsOptions,
  metricsPort,
  processMetrics,
  type MetricsFlags,
} from '../metrics-options.js';

export function registerServer(program: Command, deps: CliDeps): void {
  const command = program
    .command('server')
    .description('run a scheduler replica and the command endpoint until SIGTERM')
    .option('--id <schedulerId>', 'stable id of this replica (default: random)')
    .option('--misfire-threshold <ms>', 'a tick this late is a misfire', '5000')
    .option(
      '--fire-ahead <ms>',
      'record scheduled ticks and hand them to workers this early; they start on time (0: at the tick)',
      String(DEFAULT_FIRE_AHEAD_MS),
    )
    .option(
      '--max-fire-ahead <ms>',
      'ticks shared by many jobs are fired earlier than --fire-ahead, at most this early (--fire-ahead or less: never earlier)',
      String(DEFAULT_MAX_FIRE_AHEAD_MS),
    );
  addMetricsOptions(command).action(
    async (
      o: {
        id?: string;
        misfireThreshold: string;
        fireAhead: string;
        maxFireAhead: string;
      } & MetricsFlags,
      cmd: Command,
    ) => {
      // Refused before anything connects.
      const misfireThresholdMs = parseNonNegativeInt('--misfire-threshold', o.misfireThreshold);
      const fireAheadMs = parseNonNegativeInt('--fire-ahead', o.fireAhead);
      const maxFireAheadMs = parseNonNegativeInt('--max-fire-ahead', o.maxFireAhead);
      const port = metricsPort(o);
      await deps.withRuntime(cmd, async (rt) => {
        const pm = await processMetrics(port, o, rt.log);
        const server = await startServer({
          runtime: rt,
          ...(o.id && { schedulerId: o.id }),
          misfireThresholdMs,
          fireAheadMs,
          maxFireAheadMs,
        });
        const { scheduler } = server;
        let metrics: MetricsEndpoint | undefined;
        if (pm) {
          pm.m.registerSchedulerMetrics(pm.registry, scheduler);
          metrics = await pm
            .serve({ role: 'scheduler', member: scheduler.schedulerId })
            .catch(async (err: unknown) => {
              await server.stop();
              throw err;
            });
        }
        deps.stderr.write(
          `jetsched server ${scheduler.schedulerId} running (prefix ${rt.names.prefix})${metrics ? `, metrics at ${metrics.url}` : ''}; SIGTERM to stop\n`,
        );
        const sig = await untilStopSignal();
        rt.log.info({ signal: sig }, 'stopping');
        await server.stop();
        await metrics?.close();
      });
    },
  );
}
