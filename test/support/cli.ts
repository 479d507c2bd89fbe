import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/program.js';

/** What an in-process run of the CLI printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process, as `jetsched <globals> <args>` with an empty environment, and captures
 * what it printed.
 */
export async function runCliCaptured(
  globals: readonly string[],
  args: readonly string[],
  nowMs: () => number = () => Date.now(),
): Promise<CliRun> {
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  const stdout = new PassThrough().on('data', (c: Buffer) => chunks.out.push(c));
  const stderr = new PassThrough().on('data', (c: Buffer) => chunks.err.push(c));
  const code = await runCli(['node', 'jetsched', ...globals, ...args], {
    stdout,
    stderr,
    env: {},
    nowMs,
  });
  return {
    code,
    stdout: Buffer.concat(chunks.out).toString(),
    stderr: Buffer.concat(chunks.err).toString(),
  };
}
