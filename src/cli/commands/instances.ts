import type { Command } from 'commander';
import Table from 'cli-table3';
import { NotFoundError } from '../../events/errors.js';
import { jobIdOfInstance, partitionOf } from '../../events/subjects.js';
import { createClient } from '../../services/commands/client.js';
import { loadInstance } from '../../services/commands/load.js';
import { loadQueryState, listInstances } from '../../services/query.js';
import { readInstanceLogs } from '../../services/worker/instance-logs.js';
import type { InstanceView } from '../../projections/instance-view.js';
import type { CliDeps } from '../deps.js';
import { writeLine } from '../output.js';
import { parsePositiveInt } from '../parse.js';

const iso = (ms: number | undefined) => (ms === undefined ? '-' : new Date(ms).toISOString());

function durationOf(i: InstanceView): string {
  if (i.startedAtMs === undefined) return '-';
  const end = i.finishedAtMs ?? Date.now();
  return `${end - i.startedAtMs}ms`;
}

export function registerInstances(program: Command, deps: CliDeps): void {
  const inst = program
    .command('instance')
    .description('inspect and control instances (runs of jobs)');
  const out = (line: string) => writeLine(deps.stdout, line);

  inst
    .command('list')
    .description('instances, newest fire first')
    .option('--job <jobId>', 'of one job')
    .option(
      '--status <status>',
      'dispatched | running | retry-waiting | succeeded | failed | timed-out | cancelled',
    )
    .option('--limit <n>', 'at most n', '50')
    .option('--json', 'JSON lines')
    .action(
      async (o: { job?: string; status?: string; limit: string; json?: boolean }, cmd: Command) => {
        const limit = parsePositiveInt('--limit', o.limit);
        await deps.withRuntime(cmd, async (rt) => {
          const state = await loadQueryState(rt, o.job ? { jobId: o.job } : {});
          const list = listInstances(state, {
            ...(o.job && { jobId: o.job }),
            ...(o.status && { status: o.status }),
            limit,
          });
          if (o.json) {
            for (const i of list) await out(JSON.stringify(i));
            return;
          }
          const table = new Table({
            head: ['instance', 'job', 'status', 'attempt', 'fire time', 'worker', 'took', 'error'],
          });
          for (const i of list) {
            table.push([
              i.instanceId,
              i.jobId,
              i.status,
              String(i.attempt),
              iso(i.fireTimeMs),
              i.workerId ?? '-',
              durationOf(i),
              i.error?.message.slice(0, 40) ?? '',
            ]);
          }
          await out(table.toString());
        });
      },
    );

  inst
    .command('show <instanceId>')
    .description('one instance')
    .option('--json', 'JSON output')
    .action(async (instanceId: string, o: { json?: boolean }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const loaded = await loadInstance(rt.store, rt.names, rt.partitions, instanceId);
        if (!loaded?.view) throw new NotFoundError('instance', instanceId);
        const i = loaded.view;
        if (o.json) return out(JSON.stringify(i));
        await out(`${i.instanceId}  ${i.status}  job=${i.jobId}  attempt=${i.attempt}`);
        await out(
          `fire ${iso(i.fireTimeMs)}  dispatched ${iso(i.dispatchedAtMs)}  started ${iso(i.startedAtMs)}  finished ${iso(i.finishedAtMs)}`,
        );
        if (i.workerId) await out(`worker ${i.workerId}`);
        if (i.progress !== undefined)
          await out(`progress ${Math.round(i.progress * 100)}% ${i.note ?? ''}`);
        if (i.result !== undefined) await out(`result ${JSON.stringify(i.result)}`);
        if (i.error) await out(`error ${i.error.name}: ${i.error.message}`);
      });
    });

  inst
    .command('logs <instanceId>')
    .description('the log lines its processor wrote, in order')
    .option('--json', 'JSON lines')
    .action(async (instanceId: string, o: { json?: boolean }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const jobId = jobIdOfInstance(instanceId);
        if (!jobId) throw new NotFoundError('instance', instanceId);
        const lines = await readInstanceLogs(rt, instanceId, partitionOf(jobId, rt.partitions));
        for (const l of lines) {
          await out(
            o.json
              ? JSON.stringify(l)
              : `${iso(l.atMs)}  ${l.level.toUpperCase().padEnd(5)}  #${l.attempt}  ${l.msg}${l.fields ? `  ${JSON.stringify(l.fields)}` : ''}`,
          );
        }
      });
    });

  inst
    .command('cancel <instanceId>')
    .description('stop an instance for good (a running processor is aborted)')
    .option('--reason <text>', 'recorded in the event')
    .action(async (instanceId: string, o: { reason?: string }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const reply = await createClient(rt, { localFallback: true }).send('CancelInstance', {
          instanceId,
          ...(o.reason && { reason: o.reason }),
        });
        await out(JSON.stringify(reply.result));
      });
    });

  inst
    .command('retry <instanceId>')
    .description('run a finished instance again (as a new instance)')
    .action(async (instanceId: string, _o: unknown, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const reply = await createClient(rt, { localFallback: true }).send('RetryInstance', {
          instanceId,
        });
        await out(JSON.stringify(reply.result));
      });
    });
}
