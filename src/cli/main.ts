#!/usr/bin/env node
import { runCli } from './program.js';

// A closed pipe (`jetsched audit | head`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const code = await runCli(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  nowMs: () => Date.now(),
});

// One-shot commands exit once their output is flushed, even if a connection was left open
// (e.g. when opening the runtime failed half-way).
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => stream.write('', () => resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
