import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The jetsched project root: the nearest folder at or above `from` whose package.json is named
 * "jetsched". Works from src/ (vitest, tsx) and from dist/src/ (after `tsc`). Undefined when
 * run from somewhere else (e.g. installed as a dependency without its package.json nearby).
 */
export function findProjectRoot(
  from: string = dirname(fileURLToPath(import.meta.url)),
): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readPackageName(pkg) === 'jetsched') return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function readPackageName(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      'name' in parsed &&
      typeof parsed.name === 'string'
    )
      return parsed.name;
    return undefined;
  } catch {
    // An unreadable or malformed package.json is simply not ours; keep walking up.
    return undefined;
  }
}
