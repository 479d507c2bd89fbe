/** Naming the frames of V8 profiles (CPU and allocation) for the profile summaries. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where a script belongs: an npm package, a jetsched area, node internals or V8. */
export function area(url: string): string {
  if (!url) return '(v8/native)';
  if (url.startsWith('node:')) return 'node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] ?? url;
  const own = /dist\/(src\/[^/]+(?:\/[^/]+)?|bench)\//.exec(url);
  if (own) return own[1] ?? url;
  return url;
}

/** A script url without the checkout's path. */
export function short(url: string): string {
  return url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/');
}

/** The largest entries of a map of totals, as lines: value, share of `total`, key. */
export function topLines(
  m: Map<string, number>,
  n: number,
  total: number,
  format: (value: number) => string,
): string[] {
  return [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${format(v)} ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}

export function addInto(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

/** The profile files named by `target` (a file, or a directory's files ending in `ext`), largest first. */
export async function profileFiles(target: string, ext: string): Promise<string[]> {
  if (!(await stat(target)).isDirectory()) return [target];
  const names = (await readdir(target)).filter((f) => f.endsWith(ext));
  const withSize = await Promise.all(
    names.map(async (f) => ({ f: join(target, f), size: (await stat(join(target, f))).size })),
  );
  return withSize.sort((a, b) => b.size - a.size).map((x) => x.f);
}
