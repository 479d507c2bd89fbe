import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Last-resort cleanup when the Node process exits without stopping its servers (a crashed test
 * worker, a forgotten stop()): SIGKILL every live nats-server child and remove temp dirs.
 * Only 'exit' is hooked; signal handling stays the host application's business.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch (err) {
        // The process is exiting and cannot report through a logger any more; stderr is all there is.
        process.stderr.write(`jetsched: could not remove ${dir}: ${String(err)}\n`);
      }
    }
  });
}

export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function untrackTempDir(dir: string): void {
  tempDirs.delete(dir);
}
