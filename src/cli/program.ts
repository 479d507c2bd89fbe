import { Command, CommanderError } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerDemo } from './commands/demo.js';
import { registerInstances } from './commands/instances.js';
import { registerJobs } from './commands/jobs.js';
import { registerServer } from './commands/server.js';
import { registerStatus } from './commands/status.js';
import { registerWorker } from './commands/worker.js';
import { addGlobalOptions, createCliLogger, resolveGlobalOptions, withRuntime } from './context.js';
import type { CliDeps, RegisterCommands } from './deps.js';
import { exitCodeFor, ExitCode, formatError } from './errors.js';

/** The command groups of `jetsched`; add a group by writing src/cli/commands/<group>.ts and listing it here. */
export const COMMAND_GROUPS: readonly RegisterCommands[] = [
  registerDemo,
  registerServer,
  registerWorker,
  registerJobs,
  registerInstances,
  registerStatus,
  registerAudit,
];

export type ProgramDeps = Omit<CliDeps, 'withRuntime'>;

/** The long-running commands: they refuse an installation whose streams or buckets they cannot work with. */
const SERVING_COMMANDS = new Set(['server', 'worker']);

/** Builds the `jetsched` program. Commander's own errors (unknown flags, …) throw instead of exiting. */
export function createProgram(
  deps: ProgramDeps,
  groups: readonly RegisterCommands[] = COMMAND_GROUPS,
): Command {
  const program = new Command('jetsched')
    .description('Distributed job scheduler on NATS JetStream')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => deps.stdout.write(s),
      writeErr: (s) => deps.stderr.write(s),
    })
    .showHelpAfterError('(run with --help for usage)');
  addGlobalOptions(program);
  const cliDeps: CliDeps = {
    ...deps,
    withRuntime(cmd, fn) {
      const globals = resolveGlobalOptions(cmd.optsWithGlobals(), deps.env);
      return withRuntime(globals, createCliLogger(globals.logLevel, deps.stderr), fn, {
        serving: SERVING_COMMANDS.has(cmd.name()),
      });
    },
  };
  for (const register of groups) register(program, cliDeps);
  return program;
}

/**
 * Runs the CLI on `argv` (as in process.argv) and returns the exit code: 0 ok, 2 for refused
 * requests and bad usage, 1 for other failures. Errors are printed as `error: <message>`, or as
 * `{"error":{"code","message"}}` on stdout when the command ran with `--json`.
 */
export async function runCli(argv: readonly string[], deps: ProgramDeps): Promise<number> {
  const program = createProgram(deps);
  let json = false;
  program.hook('preAction', (_root, action) => {
    json = action.opts()['json'] === true;
  });
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Refused;
    (json ? deps.stdout : deps.stderr).write(`${formatError(err, json)}\n`);
    return exitCodeFor(err);
  }
}
