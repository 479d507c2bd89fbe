/**
 * Top functions of a Go CPU profile in pprof format: nats-server's, as `bench/stages.js` writes it
 * with `BENCH_SERVER_PROFILE=<file>`. Prints self and inclusive time per function (shares of all
 * sampled CPU), and with `--callers <regex>` the call paths that lead to the matching functions.
 * Usage: node dist/bench/pprof-top.js <file.pb.gz> [--top n] [--callers regex] [--depth n]
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { topLines } from './lib/profile-frames.js';

/** One sample as the functions on its stack (innermost first) and its CPU time in ns. */
interface Stack {
  frames: string[];
  ns: number;
}

/** The samples of a profile, with inlined frames expanded and the server's package shortened. */
function stacksOf(p: Profile): Stack[] {
  const text = (i: number | bigint) => p.stringTable.strings[Number(i)] ?? '?';
  const fn = new Map(p.function.map((f) => [Number(f.id), shortName(text(f.name))]));
  const loc = new Map(
    p.location.map((l) => [Number(l.id), l.line.map((ln) => fn.get(Number(ln.functionId)) ?? '?')]),
  );
  const cpu = p.sampleType.findIndex((t) => text(t.type) === 'cpu');
  const at = cpu >= 0 ? cpu : p.sampleType.length - 1;
  return p.sample.map((s) => ({
    frames: s.locationId.flatMap((id) => loc.get(Number(id)) ?? []),
    ns: Number(s.value[at] ?? 0),
  }));
}

function shortName(name: string): string {
  return name.replace(/^github\.com\/nats-io\/nats-server(?:\/v2)?\/server\./, '');
}

/** Self and inclusive time per function (a recursive function counts once per sample). */
function times(stacks: Stack[]): {
  self: Map<string, number>;
  inclusive: Map<string, number>;
  total: number;
} {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (const { frames, ns } of stacks) {
    total += ns;
    const leaf = frames[0];
    if (leaf !== undefined) self.set(leaf, (self.get(leaf) ?? 0) + ns);
    for (const f of new Set(frames)) inclusive.set(f, (inclusive.get(f) ?? 0) + ns);
  }
  return { self, inclusive, total };
}

/** Time per call path from the innermost frame matching `re` outwards, `depth` frames long. */
function callers(stacks: Stack[], re: RegExp, depth: number): Map<string, number> {
  const paths = new Map<string, number>();
  for (const { frames, ns } of stacks) {
    const i = frames.findIndex((f) => re.test(f));
    if (i < 0) continue;
    const key = frames.slice(i, i + depth).join(' ← ');
    paths.set(key, (paths.get(key) ?? 0) + ns);
  }
  return paths;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '30' },
      callers: { type: 'string' },
      depth: { type: 'string', default: '4' },
    },
  });
  const file = positionals[0];
  if (!file) {
    console.error(
      'usage: node dist/bench/pprof-top.js <file.pb.gz> [--top n] [--callers regex] [--depth n]',
    );
    process.exit(2);
  }
  const top = Number(values.top);
  const raw = await readFile(file);
  const gzipped = raw[0] === 0x1f && raw[1] === 0x8b;
  const stacks = stacksOf(Profile.decode(gzipped ? gunzipSync(raw) : raw));
  const { self, inclusive, total } = times(stacks);
  const ms = (ns: number) => `${(ns / 1e6).toFixed(0).padStart(7)} ms`;
  console.log(`${file}: ${(total / 1e9).toFixed(2)} s of CPU sampled`);
  const callersOf = values.callers;
  if (callersOf !== undefined) {
    const depth = Number(values.depth);
    console.log(`  call paths to /${callersOf}/ (innermost first):`);
    for (const l of topLines(callers(stacks, new RegExp(callersOf), depth), top, total, ms))
      console.log(`    ${l}`);
    return;
  }
  console.log('  self time:');
  for (const l of topLines(self, top, total, ms)) console.log(`    ${l}`);
  console.log('  inclusive time:');
  for (const l of topLines(inclusive, top, total, ms)) console.log(`    ${l}`);
}

await main();
