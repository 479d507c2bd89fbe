import type { Command } from 'commander';
import Table from 'cli-table3';
import { NotFoundError, ValidationError } from '../../events/errors.js';
import { jobSpecInputSchema } from '../../domain/job-spec.js';
import { createClient } from '../../services/commands/client.js';
import { loadLiveState, loadQueryState, listInstances } from '../../services/query.js';
import { describeSchedule } from '../audit/timeline.js';
import type { JobView } from '../../projections/job-view.js';
import type { CliDeps } from '../deps.js';
import { writeLine } from '../output.js';
import { readJobFile } from '../job-file.js';
import { parsePositiveInt } from '../parse.js';
import { invalidOption } from '../errors.js';
import { MAX_TRIGGERS_PER_COMMAND } from '../../domain/commands.js';
import { readFile } from 'node:fs/promises';
import { chunked } from '../../domain/chunked.js';

function parseJson(flag: string, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (err) {
    throw new ValidationError('option', [
      { path: flag, message: `not JSON: ${(err as Error).message}` },
    ]);
  }
}

/** The params of one run per non-empty line of a JSON-lines file; a line that is not JSON is refused, naming it. */
async function readParamsLines(file: string): Promise<unknown[]> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const runs: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    runs.push(parseJson(`--each ${file} line ${i + 1}`, line));
  });
  if (runs.length === 0) throw invalidOption('--each', `${file} holds no line to run`);
  return runs;
}

/** Runs split into commands of at most 1,000 triggers and about 512 KiB (NATS allows 1 MiB a message). */
function commandSized(runs: readonly unknown[]): unknown[][] {
  return chunked(
    runs,
    MAX_TRIGGERS_PER_COMMAND,
    512 * 1024,
    (params) => Buffer.byteLength(JSON.stringify(params) ?? '') + 100,
  );
}

export function registerJobs(program: Command, deps: CliDeps): void {
  const job = program.command('job').description('define, change and inspect jobs');
  const out = (line: string) => writeLine(deps.stdout, line);

  job
    .command('apply')
    .description('create or update the jobs in a JSON/YAML file (one job or a list)')
    .requiredOption('-f, --file <file>', 'job file')
    .option('--json', 'JSON output')
    .action(async (o: { file: string; json?: boolean }, cmd: Command) => {
      const docs = await readJobFile(o.file);
      // Validate all before sending any, so a bad file changes nothing.
      docs.forEach((doc, i) => {
        const r = jobSpecInputSchema.safeParse(doc);
        if (!r.success) throw ValidationError.fromZod(`job ${i + 1} in ${o.file}`, r.error);
      });
      await deps.withRuntime(cmd, async (rt) => {
        const client = createClient(rt, { localFallback: true });
        for (const spec of docs) {
          const r = await client.send('RegisterJob', { spec });
          await out(
            o.json
              ? JSON.stringify(r.result)
              : `${String(r.result.jobId)}: ${r.result.created ? 'created' : r.result.changed ? 'updated' : 'unchanged'}`,
          );
        }
      });
    });

  job
    .command('create')
    .description('create or update one job from flags')
    .requiredOption('--name <name>', 'job name (its id)')
    .requiredOption('--processor <name>', 'processor name the workers know')
    .option('--group <group>', 'worker group', 'default')
    .option('--cron <expr>', 'cron expression (seconds optional)')
    .option('--tz <zone>', 'IANA time zone for --cron', 'UTC')
    .option('--every <duration>', 'fixed rate, e.g. 1s, 5m')
    .option('--fixed-delay <duration>', 'delay after each run ends')
    .option('--at <time>', 'one shot at an ISO 8601 time')
    .option('--manual', 'only when triggered')
    .option('--params <json>', 'JSON params')
    .option('--timeout <duration>', 'attempt timeout')
    .option('--max-attempts <n>', 'attempts including the first')
    .option('--misfire <policy>', 'fire-once | fire-all | skip')
    .option('--overlap <policy>', 'allow | skip | buffer-one | cancel-previous')
    .option('--paused', 'create it paused')
    .action(async (o: Record<string, string | boolean | undefined>, cmd: Command) => {
      const schedule = o.cron
        ? { cron: o.cron, tz: o.tz }
        : o.every
          ? { every: o.every }
          : o.fixedDelay
            ? { fixedDelay: o.fixedDelay }
            : o.at
              ? { at: o.at }
              : { manual: true };
      const spec: Record<string, unknown> = {
        name: o.name,
        processor: o.processor,
        group: o.group,
        schedule,
      };
      if (o.params !== undefined) spec.params = parseJson('--params', o.params as string);
      if (o.timeout) spec.timeout = o.timeout;
      if (o.maxAttempts)
        spec.retry = { maxAttempts: parsePositiveInt('--max-attempts', o.maxAttempts as string) };
      if (o.misfire) spec.misfire = o.misfire;
      if (o.overlap) spec.overlap = o.overlap;
      if (o.paused) spec.enabled = false;
      const r = jobSpecInputSchema.safeParse(spec);
      if (!r.success) throw ValidationError.fromZod('job', r.error);
      await deps.withRuntime(cmd, async (rt) => {
        const reply = await createClient(rt, { localFallback: true }).send('RegisterJob', { spec });
        await out(JSON.stringify(reply.result));
      });
    });

  const simple = (name: string, type: 'PauseJob' | 'ResumeJob', what: string) =>
    job
      .command(`${name} [jobId]`)
      .description(what)
      .option('--all', 'every job')
      .option('--note <text>', 'why (recorded in the event)')
      .action(
        async (jobId: string | undefined, o: { all?: boolean; note?: string }, cmd: Command) => {
          if (!jobId && !o.all)
            throw new ValidationError('option', [
              { path: 'jobId', message: 'give a job id or --all' },
            ]);
          await deps.withRuntime(cmd, async (rt) => {
            const data = {
              ...(o.all ? { all: true } : { jobId }),
              ...(o.note && { note: o.note }),
            };
            const reply = await createClient(rt, { localFallback: true }).send(type, data);
            await out(JSON.stringify(reply.result));
          });
        },
      );
  simple('pause', 'PauseJob', 'pause a job (no fires until resumed; paused ticks are skipped)');
  simple('resume', 'ResumeJob', 'resume a paused job');

  job
    .command('delete <jobId>')
    .description('delete a job (running instances finish; its history stays)')
    .action(async (jobId: string, _o: unknown, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const reply = await createClient(rt, { localFallback: true }).send('DeleteJob', { jobId });
        await out(JSON.stringify(reply.result));
      });
    });

  job
    .command('trigger <jobId>')
    .description('run a job now, after a delay, or at a time (durable)')
    .option('--params <json>', 'JSON params for this run')
    .option('--delay <duration>', 'e.g. 30s')
    .option('--at <time>', 'ISO 8601 time')
    .option('--id <triggerId>', 'idempotency id: the same id fires once')
    .option(
      '--each <file>',
      'one run per line of a JSON-lines file, the line being its params (sent as TriggerJobs commands of up to 1,000 runs); prints one line per run',
    )
    .action(
      async (
        jobId: string,
        o: { params?: string; delay?: string; at?: string; id?: string; each?: string },
        cmd: Command,
      ) => {
        const data: Record<string, unknown> = { jobId };
        if (o.delay) data.delay = o.delay;
        if (o.at) data.at = o.at;
        if (o.each !== undefined) {
          if (o.params !== undefined || o.id !== undefined)
            throw invalidOption('--each', 'give --params and --id, or --each, not both');
          const runs = await readParamsLines(o.each);
          await deps.withRuntime(cmd, async (rt) => {
            const client = createClient(rt, { localFallback: true });
            for (const chunk of commandSized(runs)) {
              const triggers = chunk.map((params) => ({ ...data, params }));
              const reply = await client.send('TriggerJobs', { triggers });
              for (const t of reply.result.triggers as unknown[]) await out(JSON.stringify(t));
            }
          });
          return;
        }
        if (o.params !== undefined) data.params = parseJson('--params', o.params);
        if (o.id) data.triggerId = o.id;
        await deps.withRuntime(cmd, async (rt) => {
          const reply = await createClient(rt, { localFallback: true }).send('TriggerJob', data);
          await out(JSON.stringify(reply.result));
        });
      },
    );

  job
    .command('backfill <jobId>')
    .description('fire every tick of a past time range')
    .requiredOption('--from <time>', 'ISO 8601 start')
    .requiredOption('--to <time>', 'ISO 8601 end')
    .action(async (jobId: string, o: { from: string; to: string }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const reply = await createClient(rt, { localFallback: true }).send('BackfillJob', {
          jobId,
          from: o.from,
          to: o.to,
        });
        await out(JSON.stringify(reply.result));
      });
    });

  job
    .command('list')
    .description('jobs and their state')
    .option('--json', 'JSON lines')
    .option('--deleted', 'include deleted jobs')
    .action(async (o: { json?: boolean; deleted?: boolean }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const { state, source } = await loadLiveState(rt);
        for (const { partition, error } of source.passedOver)
          rt.log.warn(
            { partition, err: error },
            'partition snapshot passed over; the partition was folded from the start',
          );
        const jobs = [...state.jobs.values()].filter((j) => o.deleted || j.status !== 'deleted');
        if (o.json) {
          for (const j of jobs) await out(JSON.stringify(j));
          return;
        }
        const table = new Table({
          head: ['job', 'status', 'schedule', 'group', 'processor', 'runs', 'active', 'last fire'],
        });
        for (const j of jobs) {
          table.push([
            j.jobId,
            j.status,
            describeSchedule(j.spec.schedule),
            j.spec.group,
            j.spec.processor,
            String(j.runs),
            String(state.active.get(j.jobId)?.size ?? 0),
            j.lastFiredAtMs ? new Date(j.lastFiredAtMs).toISOString() : '-',
          ]);
        }
        await out(table.toString());
      });
    });

  job
    .command('show <jobId>')
    .description('one job, its spec and its latest instances')
    .option('--json', 'JSON output')
    .action(async (jobId: string, o: { json?: boolean }, cmd: Command) => {
      await deps.withRuntime(cmd, async (rt) => {
        const state = await loadQueryState(rt, { jobId });
        const j: JobView | undefined = state.jobs.get(jobId);
        if (!j) throw new NotFoundError('job', jobId);
        const recent = listInstances(state, { jobId, limit: 10 });
        if (o.json) return out(JSON.stringify({ job: j, recentInstances: recent }));
        await out(
          `${j.jobId}  ${j.status}  ${describeSchedule(j.spec.schedule)}  group=${j.spec.group} processor=${j.spec.processor}`,
        );
        await out(JSON.stringify(j.spec, null, 2));
        await out(
          `runs: ${j.runs}   skipped ticks: ${j.skippedTicks}   pending triggers: ${Object.keys(j.pendingTriggers).length}`,
        );
        for (const i of recent)
          await out(
            `  ${i.instanceId}  ${i.status}  attempt ${i.attempt}  fire ${new Date(i.fireTimeMs).toISOString()}`,
          );
      });
    });
}
