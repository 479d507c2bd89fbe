import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { ValidationError } from '../../events/errors.js';
import { createWorker, DEFAULT_RECORD_START_AFTER_MS } from '../../services/worker/index.js';
import type { Processor } from '../../services/worker/types.js';
import type { CliDeps } from '../deps.js';
import type { MetricsEndpoint } from '../../services/metrics/index.js';
import { parseNonNegativeInt, parsePositiveInt } from '../parse.js';
import { untilStopSignal } from '../signals.js';
import {
  addMetricsOptions,
  metricsPort,
  processMetrics,
  type MetricsFlags,
} from '../metrics-options.js';

/** Loads a module whose default export maps processor names to async functions. */
export async function loadProcessors(file: string): Promise<Record<string, Processor>> {
  const mod = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown };
  const map = mod.default;
  if (!map || typeof map !== 'object') {
    throw new ValidationError('option', [
      { path: '--processors', message: `${file} has no default export mapping names to functions` },
    ]);
  }
  for (const [name, fn] of Object.entries(map)) {
    if (typeof fn !== 'function') {
      throw new ValidationError('option', [
        {
          path: '--processors',
          message: `processor ${JSON.stringify(name)} in ${file} is not a function`,
        },
      ]);
    }
  }
  return map as Record<string, Processor>;
}

export function registerWorker(program: Command, deps: CliDeps): void {
  const command = program
    .command('worker')
    .description('run a worker for one group until SIGTERM (then drain: finish running tasks)')
    .requiredOption('--group <group>', 'worker group to serve')
    .requiredOption(
      '--processors <module>',
      'JS module whose default export maps processor names to async functions',
    )
    .option('--concurrency <n>', 'attempts run at once', '16')
    .option(
      '--claim-ahead <ms>',
      'record the start of a task handed out before its fire time this long ahead of it, so that at the tick only the processor is called (0: at the fire time)',
      '0',
    )
    .option(
      '--record-start-after <ms>',
      'run a fresh task at once and record its start only if it still runs after this long; a shorter run is recorded by its report alone (0: record every start before running; at most 1000)',
      String(DEFAULT_RECORD_START_AFTER_MS),
    )
    .option('--id <workerId>', 'stable worker id');
  addMetricsOptions(command).action(
    async (
      o: {
        group: string;
        processors: string;
        concurrency: string;
        claimAhead: string;
        recordStartAfter: string;
        id?: string;
      } & MetricsFlags,
      cmd: Command,
    ) => {
      // Refused before anything connects.
      const concurrency = parsePositiveInt('--concurrency', o.concurrency);
      const claimAheadMs = parseNonNegativeInt('--claim-ahead', o.claimAhead);
      const recordStartAfterMs = parseNonNegativeInt('--record-start-after', o.recordStartAfter);
      const port = metricsPort(o);
      const processors = await loadProcessors(o.processors);
      await deps.withRuntime(cmd, async (rt) => {
        const pm = await processMetrics(port, o, rt.log);
        const onRunBegan = pm && pm.m.observeStartLateness(pm.registry);
        const worker = createWorker({
          runtime: rt,
          group: o.group,
          processors,
          concurrency,
          claimAheadMs,
          recordStartAfterMs,
          ...(o.id && { workerId: o.id }),
          ...(onRunBegan && { onRunBegan }),
          log: rt.log,
        });
        await worker.start();
        let metrics: MetricsEndpoint | undefined;
        if (pm) {
          pm.m.registerWorkerMetrics(pm.registry, worker, concurrency);
          metrics = await pm
            .serve({ role: 'worker', member: worker.workerId })
            .catch(async (err: unknown) => {
              await worker.drain();
              throw err;
            });
        }
        deps.stderr.write(
          `jetsched worker ${worker.workerId} serving group ${o.group} (${Object.keys(processors).join(', ')})${metrics ? `, metrics at ${metrics.url}` : ''}; SIGTERM to drain\n`,
        );
        const sig = await untilStopSignal();
        rt.log.info({ signal: sig, workerId: worker.workerId }, 'draining');
        await worker.drain();
        await metrics?.close();
      });
    },
  );
}
