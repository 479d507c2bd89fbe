import type { Writable } from 'node:stream';
import { Option, type Command, type OptionValues } from 'commander';
import { pino, type Level, type Logger } from 'pino';
import { JetschedError } from '../events/errors.js';
import { natsOptionsFromEnv, type NatsOptions } from '../services/connect.js';
import { openRuntime, type Runtime, type RuntimeOptions } from '../services/runtime.js';
import { invalidOption } from './errors.js';
import { parsePositiveInt } from './parse.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = Level | 'silent';

/** The options every command takes, resolved and checked. */
export interface GlobalOptions {
  nats: NatsOptions & { servers: string };
  /** Subject/stream prefix. Default "jetsched". */
  prefix: string;
  /** Stream and bucket replicas, applied when the streams are ensured. Default 1. */
  replicas: number;
  logLevel: LogLevel;
}

/** Adds the global options to the root program. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(
      new Option(
        '--nats <urls>',
        `comma-separated NATS server URLs (default: ${DEFAULT_NATS_URL})`,
      ).env('NATS_URL'),
    )
    .addOption(new Option('--creds <file>', 'NATS credentials file').env('NATS_CREDS'))
    .addOption(new Option('--user <user>', 'NATS user').env('NATS_USER'))
    .addOption(new Option('--password <password>', 'NATS password').env('NATS_PASSWORD'))
    .addOption(new Option('--token <token>', 'NATS token').env('NATS_TOKEN'))
    .addOption(new Option('--tls-ca <file>', 'CA file for TLS connections').env('NATS_CA'))
    .addOption(
      new Option('--prefix <prefix>', 'installation prefix of subjects and streams')
        .env('JETSCHED_PREFIX')
        .default('jetsched'),
    )
    .addOption(
      new Option('--replicas <n>', 'replicas of streams and buckets')
        .env('JETSCHED_REPLICAS')
        .default('1'),
    )
    .addOption(
      new Option('--log-level <level>', 'log level (logs go to stderr)')
        .env('LOG_LEVEL')
        .choices(LOG_LEVELS)
        .default('info'),
    );
}

/** Checks the raw global option values (from `cmd.optsWithGlobals()`); the environment fills unset NATS settings. */
export function resolveGlobalOptions(
  raw: OptionValues,
  env: NodeJS.ProcessEnv = process.env,
): GlobalOptions {
  const str = (key: string): string | undefined => {
    const v: unknown = raw[key];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const given: NatsOptions = { name: 'jetsched-cli' };
  const pairs: [keyof NatsOptions, string][] = [
    ['servers', 'nats'],
    ['credsFile', 'creds'],
    ['user', 'user'],
    ['password', 'password'],
    ['token', 'token'],
    ['caFile', 'tlsCa'],
  ];
  for (const [field, key] of pairs) {
    const v = str(key);
    if (v !== undefined) given[field] = v;
  }
  const nats = natsOptionsFromEnv(given, env);
  const prefix = str('prefix') ?? 'jetsched';
  if (!/^[A-Za-z0-9_-]+$/.test(prefix))
    throw invalidOption('--prefix', 'use letters, digits, "-" or "_"');
  const logLevel = str('logLevel') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw invalidOption('--log-level', `use one of ${LOG_LEVELS.join(', ')}`);
  }
  return {
    nats: { ...nats, servers: nats.servers ?? DEFAULT_NATS_URL },
    prefix,
    replicas: parsePositiveInt('--replicas', str('replicas') ?? '1'),
    logLevel: logLevel as LogLevel,
  };
}

/** A logger writing JSON lines to `dest` (stderr in the CLI), keeping stdout for command output. */
export function createCliLogger(level: LogLevel, dest: Writable): Logger {
  return pino({ level, base: { app: 'jetsched-cli' } }, dest);
}

/**
 * Opens a runtime (connect + ensure streams), runs `fn` with it, and always closes it. A stream or
 * bucket made elsewhere that jetsched cannot work with refuses a long-running process (`serving`:
 * a scheduler or worker would run without its guarantees); any other command warns and goes on,
 * so that an operator can still look at and audit the installation.
 */
export async function withRuntime<T>(
  globals: GlobalOptions,
  log: Logger,
  fn: (rt: Runtime) => Promise<T>,
  { serving = false }: { serving?: boolean } = {},
): Promise<T> {
  const opts: RuntimeOptions = {
    nats: globals.nats,
    prefix: globals.prefix,
    replicas: globals.replicas,
    log,
    ...(!serving && {
      onStoreProblem: (problem) => log.warn({ store: problem.store }, problem.message),
    }),
  };
  log.debug({ servers: globals.nats.servers, prefix: globals.prefix }, 'connecting');
  let rt: Runtime;
  try {
    rt = await openRuntime(opts);
  } catch (err) {
    throw new JetschedError(
      'NATS_UNAVAILABLE',
      `cannot open jetsched at ${globals.nats.servers} (prefix ${globals.prefix}): ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}
