/**
 * Top self-time functions of V8 CPU profiles (`node --cpu-prof`).
 * Usage: node dist/bench/profile-top.js <file.cpuprofile | dir> [--top n]
 * Self time is summed per function name + script url over all its nodes; also per package/area.
 */
import { readFile } from 'node:fs/promises';
import { addInto, area, profileFiles, short, topLines } from './lib/profile-frames.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function selfTimes(p: CpuProfile): {
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
  totalUs: number;
} {
  const frames = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const f = frames.get(p.samples[i] ?? -1);
    if (!f) continue;
    totalUs += dt;
    const key = `${f.functionName || '(anonymous)'}  ${short(f.url) || '(native)'}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + dt);
    const a = area(f.url);
    byArea.set(a, (byArea.get(a) ?? 0) + dt);
  }
  return { byFunction, byArea, totalUs };
}

/** Which process wrote the profile: the forked system under test, or the harness. */
function role(p: CpuProfile): string {
  if (p.nodes.some((n) => n.callFrame.url.endsWith('/bench/sut.js')))
    return 'system under test (scheduler + workers)';
  if (p.nodes.some((n) => n.callFrame.url.endsWith('/bench/run.js'))) return 'harness';
  return 'other';
}

const IDLE = '(idle)  (native)';
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(8)} ms`;

function print(title: string, t: ReturnType<typeof selfTimes>, n: number): void {
  const idle = t.byFunction.get(IDLE) ?? 0;
  t.byFunction.delete(IDLE);
  t.byArea.set('(v8/native)', (t.byArea.get('(v8/native)') ?? 0) - idle);
  const busy = t.totalUs - idle;
  console.log(
    `\n${title}: ${(t.totalUs / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy (percentages of busy time)`,
  );
  console.log('  top self time by function:');
  for (const line of topLines(t.byFunction, n, busy, ms)) console.log(`  ${line}`);
  console.log('  by package / area:');
  for (const line of topLines(t.byArea, n, busy, ms)) console.log(`  ${line}`);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const target =
    args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--top') ?? '.data/profiles';
  const ti = args.indexOf('--top');
  const n = ti >= 0 ? Number(args[ti + 1]) : 10;
  const merged = new Map<string, ReturnType<typeof selfTimes> & { files: number }>();
  for (const file of await profileFiles(target, '.cpuprofile')) {
    const p = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    const r = role(p);
    const t = selfTimes(p);
    const m = merged.get(r) ?? {
      byFunction: new Map<string, number>(),
      byArea: new Map<string, number>(),
      totalUs: 0,
      files: 0,
    };
    addInto(m.byFunction, t.byFunction);
    addInto(m.byArea, t.byArea);
    m.totalUs += t.totalUs;
    m.files++;
    merged.set(r, m);
    print(`${file} — ${r}`, t, n);
  }
  for (const [r, m] of merged) if (m.files > 1) print(`ALL ${m.files} profiles of the ${r}`, m, n);
}

await main();
