import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { Runtime } from '../services/runtime.js';

/** What command groups get from the program: I/O, the clock, and a way to reach the installation. */
export interface CliDeps {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** The wall clock, epoch ms (used for relative flags like `--since 10m`). */
  nowMs(): number;
  /**
   * Opens a runtime from the global options of `cmd` (pass the action's command), runs `fn`,
   * and always closes the runtime.
   */
  withRuntime<T>(cmd: Command, fn: (rt: Runtime) => Promise<T>): Promise<T>;
}

/** Every command group file exports one of these, e.g. `registerAudit(program, deps)`. */
export type RegisterCommands = (program: Command, deps: CliDeps) => void;
