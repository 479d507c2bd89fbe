/**
 * What a process allocated, from the allocation profiles written with BENCH_ALLOC_PROFILE=<dir>
 * (bench/lib/alloc-sampling.ts).
 * Usage: node dist/bench/alloc-top.js <file.heapprofile | dir> [--top n] [--per count]
 * Bytes are summed per allocating function (name + script url) and per package/area; with
 * `--per`, also divided by that count (e.g. the instances the run completed).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { area, profileFiles, short, topLines } from './lib/profile-frames.js';

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

function totals(head: HeapNode): {
  byFunction: Map<string, number>;
  byArea: Map<string, number>;
  bytes: number;
} {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let bytes = 0;
  const stack = [head];
  for (let node = stack.pop(); node; node = stack.pop()) {
    stack.push(...node.children);
    if (node.selfSize === 0) continue;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${short(f.url) || '(native)'}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    const a = area(f.url);
    byArea.set(a, (byArea.get(a) ?? 0) + node.selfSize);
    bytes += node.selfSize;
  }
  return { byFunction, byArea, bytes };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const target = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  const n = opt('--top') ?? 15;
  const per = opt('--per');
  const kb = (b: number) =>
    `${(b / 1024 / 1024).toFixed(1).padStart(8)} MiB` +
    (per ? ` ${(b / per / 1024).toFixed(2).padStart(7)} KiB/each` : '');
  for (const file of await profileFiles(target ?? '.data/alloc', '.heapprofile')) {
    const { head } = JSON.parse(await readFile(file, 'utf8')) as { head: HeapNode };
    const t = totals(head);
    console.log(`\n${basename(file)}: ${kb(t.bytes)} allocated (sampled)`);
    console.log('  by allocating function:');
    for (const line of topLines(t.byFunction, n, t.bytes, kb)) console.log(`  ${line}`);
    console.log('  by package / area:');
    for (const line of topLines(t.byArea, n, t.bytes, kb)) console.log(`  ${line}`);
  }
}

await main();
