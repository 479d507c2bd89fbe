import type { Bindings, Level, Logger } from 'pino';

/** What a task's handling logs with: pino's level methods. */
export type TaskLog = Pick<Logger, Level>;

/**
 * A pino child of `parent` bound to `bindings` (a task's ids), made when a line is first logged at
 * a level `parent` writes. A worker handles thousands of tasks a second, and most log nothing at
 * the levels it writes: a child made for each of them (its bindings serialised, its level methods
 * set) was about an eighth of a worker's own CPU per task (bench/worker-path.js, 2026-12-07).
 */
export function lazyChild(parent: Logger, bindings: Bindings): TaskLog {
  return new LazyChild(parent, bindings);
}

class LazyChild implements TaskLog {
  private child: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }

  private write(level: Level, args: unknown[]): void {
    if (this.child === undefined && !this.parent.isLevelEnabled(level)) return;
    this.child ??= this.parent.child(this.bindings);
    Reflect.apply(this.child[level], this.child, args);
  }
}
