import type { Command } from 'commander';
import { DeliverPolicy } from '@nats-io/jetstream';
import { startNatsServer, type NatsServerHandle } from '../../services/nats/embedded-server.js';
import { openRuntime } from '../../services/runtime.js';
import { startServer } from '../../services/server.js';
import { createWorker } from '../../services/worker/index.js';
import { createClient } from '../../services/commands/client.js';
import { toRaw } from '../../events/event-store.js';
import { demoProcessors } from '../../demo/processors.js';
import { loadQueryState } from '../../services/query.js';
import { createProjectionRunner } from '../../projections/runner.js';
import { scheduleProjection } from '../../projections/projection.js';
import { formatTimelineLine, timelineEntries } from '../audit/timeline.js';
import { resolveGlobalOptions, createCliLogger } from '../context.js';
import type { CliDeps } from '../deps.js';
import { parsePositiveInt } from '../parse.js';
import { writeLine } from '../output.js';

export const DEMO_JOBS = [
  { name: 'hello', processor: 'hello', schedule: { every: '2s' }, params: { name: 'jetsched' } },
  {
    name: 'cron-berlin',
    processor: 'hello',
    schedule: { cron: '*/5 * * * * *', tz: 'Europe/Berlin' },
  },
  {
    name: 'flaky',
    processor: 'flaky',
    schedule: { every: '4s' },
    retry: { maxAttempts: 3, backoff: 'fixed', initialDelay: '500ms' },
  },
  { name: 'slow', processor: 'slow', schedule: { every: '6s' }, timeout: '1s' },
  { name: 'on-demand', processor: 'hello', schedule: { manual: true } },
];

export function registerDemo(program: Command, deps: CliDeps): void {
  program
    .command('demo')
    .description(
      'a local demo: starts its own nats-server unless --nats/NATS_URL is given, a scheduler, two workers and a few jobs, and prints events as they are stored',
    )
    .option('--duration <seconds>', 'how long to run', '20')
    .action(async (o: { duration: string }, cmd: Command) => {
      const seconds = parsePositiveInt('--duration', o.duration);
      const raw = cmd.optsWithGlobals();
      const explicitNats = typeof raw['nats'] === 'string' || Boolean(deps.env['NATS_URL']);
      const globals = resolveGlobalOptions(raw, deps.env);
      const log = createCliLogger(
        globals.logLevel === 'info' ? 'warn' : globals.logLevel,
        deps.stderr,
      );
      const say = (line: string) => writeLine(deps.stdout, line);

      let embedded: NatsServerHandle | undefined;
      if (!explicitNats) {
        embedded = await startNatsServer();
        await say(
          `▶ started an embedded nats-server (JetStream) at ${embedded.url} — pass --nats or NATS_URL to use your own`,
        );
      }
      const servers = embedded?.url ?? globals.nats.servers;
      const rt = await openRuntime({
        nats: { ...globals.nats, servers },
        prefix: globals.prefix,
        replicas: globals.replicas,
        log,
      });
      const stops: (() => Promise<void>)[] = [];
      try {
        // Tail the event stream from now on, as a timeline.
        const start = (await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq + 1;
        const consumer = await rt.js.consumers.get(rt.names.eventStream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: start,
        });
        const tail = await consumer.consume();
        const tailing = (async () => {
          for await (const m of tail)
            for (const { raw, batch } of timelineEntries(toRaw(m)))
              await say(formatTimelineLine(raw, batch));
        })();
        stops.push(async () => {
          await tail.close();
          await tailing;
        });

        for (const id of ['demo-worker-1', 'demo-worker-2']) {
          const worker = createWorker({
            runtime: rt,
            group: 'default',
            processors: demoProcessors,
            workerId: id,
            log,
          });
          await worker.start();
          stops.unshift(() => worker.drain());
        }
        const server = await startServer({ runtime: rt, schedulerId: 'demo-scheduler', log });
        stops.unshift(() => server.stop());
        await say(
          `▶ scheduler and two workers running; registering ${DEMO_JOBS.length} jobs (prefix ${rt.names.prefix})`,
        );
        const client = createClient(rt);
        for (const spec of DEMO_JOBS) await client.send('RegisterJob', { spec });
        await client.send('TriggerJob', {
          jobId: 'on-demand',
          delay: '3s',
          params: { name: 'a delayed trigger' },
        });

        await new Promise((r) => setTimeout(r, seconds * 1000));
        await say('▶ pausing every job and letting running instances finish');
        await client.send('PauseJob', { all: true });
        const view = createProjectionRunner({
          js: rt.js,
          store: rt.store,
          projection: scheduleProjection,
          log,
        });
        await view.start();
        await view
          .waitUntil((s) => s.active.size === 0 && s.undispatched.size === 0, 10_000)
          .catch(() => undefined);
        await view.stop();
        await say('▶ stopping: the scheduler stops, workers drain');
      } finally {
        for (const stop of stops)
          await stop().catch((err: unknown) => log.error({ err }, 'demo stop failed'));
      }
      const state = await loadQueryState(rt);
      const byStatus = new Map<string, number>();
      for (const i of state.instances.values())
        byStatus.set(i.status, (byStatus.get(i.status) ?? 0) + 1);
      await say(
        `▶ ${state.instances.size} instances: ${[...byStatus].map(([s, n]) => `${n} ${s}`).join(', ')}`,
      );
      await say(
        embedded
          ? '▶ the embedded server is stopped with the demo; run with NATS_URL to keep the history and try `jetsched audit`'
          : `▶ replay it: jetsched audit --nats ${servers}`,
      );
      await rt.close();
      await embedded?.stop();
    });
}
