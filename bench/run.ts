/**
 * `npm run bench`: runs the benchmark suites and writes docs/benchmarks.md (see that file's
 * "How to run"). Usage: node dist/bench/run.js [--only a,b] [--out file]
 *
 * Each suite runs in a fresh Node process of its own (this script with `--suite name --result
 * file`), so that no suite measures a harness that earlier suites left with a grown heap, stray
 * timers or connections.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus, loadavg, tmpdir } from 'node:os';
import { loadConfig, type BenchConfig } from './lib/config.js';
import { describeEnvironment } from './lib/environment.js';
import { withNatsServer } from './lib/nats.js';
import { NOTES_END, NOTES_START, renderReport } from './lib/report.js';
import { Collector, summarize, type Measure, type SuiteResult } from './lib/result.js';
import { throughputSuite } from './suites/throughput.js';
import { precisionSuite } from './suites/precision.js';
import { scaleSuite } from './suites/scale.js';
import { takeoverSuite } from './suites/takeover.js';
import { rebuildSuite } from './suites/rebuild.js';
import { latencySuite } from './suites/latency.js';

interface Suite {
  name: string;
  title: string;
  run(url: string, cfg: BenchConfig, c: Collector): Promise<void>;
}

const SUITES: readonly Suite[] = [
  { name: 'throughput', title: 'Throughput (with the raw publish baseline)', run: throughputSuite },
  { name: 'latency', title: 'Trigger latency under a steady load', run: latencySuite },
  { name: 'precision', title: 'Fire precision', run: precisionSuite },
  { name: 'scale', title: 'Scale: one scheduler holding many jobs', run: scaleSuite },
  { name: 'takeover', title: 'Takeover after kill -9', run: takeoverSuite },
  { name: 'rebuild', title: 'Rebuild and snapshot restore', run: rebuildSuite },
];

interface Args {
  only?: string[];
  out?: string;
  /** Child mode: run this one suite and write its result to `result`. */
  suite?: string;
  result?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only')
      out.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--out') out.out = value();
    else if (a === '--suite') out.suite = value();
    else if (a === '--result') out.result = value();
    else throw new Error(`unknown argument ${a} (use --only a,b and --out file)`);
  }
  return out;
}

/** A measure as a child process hands it over: its target already judged on its samples. */
type SentMeasure = Omit<Measure, 'target'> & {
  target?: { text: string; verdict: boolean | string };
};
type SentResult = Omit<SuiteResult, 'measures' | 'durationMs'> & { measures: SentMeasure[] };

/** Child mode: one suite on its own nats-server; what it measured goes to `file` as JSON. */
async function runChild(suite: Suite, cfg: BenchConfig, file: string): Promise<void> {
  const c = new Collector();
  let error: string | undefined;
  try {
    await withNatsServer((server) => suite.run(server.url, cfg, c));
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    console.error(`  ✗ ${suite.name} failed:`, err);
  }
  const measures: SentMeasure[] = c.measures().map(({ target, ...m }) => ({
    ...m,
    ...(target && {
      target: { text: target.text, verdict: target.met(summarize(m.samples), m.samples) },
    }),
  }));
  const sent: SentResult = {
    suite: suite.name,
    title: suite.title,
    measures,
    setup: c.setup,
    notes: c.notes,
    ...(error !== undefined && { error }),
  };
  await writeFile(file, JSON.stringify(sent));
  process.exit(error ? 1 : 0);
}

/** Runs one suite in a child process of this script and reads back what it measured. */
async function runInChild(suite: Suite): Promise<Omit<SuiteResult, 'durationMs'>> {
  const file = join(tmpdir(), `jetsched-bench-${process.pid}-${suite.name}.json`);
  await rm(file, { force: true });
  const script = fileURLToPath(import.meta.url);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, script, '--suite', suite.name, '--result', file],
      { stdio: 'inherit' },
    );
    const kill = () => child.kill('SIGKILL');
    process.once('exit', kill);
    child.once('error', reject);
    child.once('exit', (c) => {
      process.off('exit', kill);
      resolve(c);
    });
  });
  let sent: SentResult;
  try {
    sent = JSON.parse(await readFile(file, 'utf8')) as SentResult;
  } catch {
    return {
      suite: suite.name,
      title: suite.title,
      measures: [],
      setup: [],
      notes: [],
      error: `the suite's process exited (code ${code}) without a result`,
    };
  } finally {
    await rm(file, { force: true });
  }
  return {
    ...sent,
    measures: sent.measures.map(({ target, ...m }) => ({
      ...m,
      samples: numbers(m.samples),
      ...(m.baseline && { baseline: { ...m.baseline, samples: numbers(m.baseline.samples) } }),
      ...(target && { target: { text: target.text, met: () => target.verdict } }),
    })),
  };
}

/** Samples as JSON brought them: a trial that measured nothing (NaN) arrives as null. */
function numbers(samples: readonly (number | null)[]): number[] {
  return samples.map((x) => x ?? NaN);
}

async function keptNotes(file: string): Promise<string | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    const a = text.indexOf(NOTES_START);
    const b = text.indexOf(NOTES_END);
    return a >= 0 && b > a ? text.slice(a + NOTES_START.length, b) : undefined;
  } catch {
    return undefined; // no previous report
  }
}

/** The report formatted like the rest of the repository (prettier), when prettier is installed. */
async function formatted(file: string, markdown: string): Promise<string> {
  try {
    const prettier = await import('prettier');
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(markdown, { ...options, filepath: file });
  } catch (err) {
    console.warn(`(report left unformatted: ${(err as Error).message})`);
    return markdown;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = loadConfig();
  if (args.suite !== undefined) {
    const suite = SUITES.find((x) => x.name === args.suite);
    if (!suite || !args.result) throw new Error(`--suite needs a known suite and --result file`);
    return runChild(suite, cfg, args.result);
  }
  const unknown = (args.only ?? []).filter((n) => !SUITES.some((s) => s.name === n));
  if (unknown.length)
    throw new Error(
      `unknown suite(s) ${unknown.join(', ')}; have ${SUITES.map((s) => s.name).join(', ')}`,
    );
  const selected = SUITES.filter((s) => !args.only || args.only.includes(s.name));
  const partial = args.only !== undefined || cfg.quick;
  const file = args.out ?? (partial ? '.data/bench/benchmarks.md' : 'docs/benchmarks.md');
  const env = await describeEnvironment();
  console.log(
    `jetsched benchmarks (${cfg.quick ? 'quick' : 'full'}, ${cfg.trials} trial(s)) on ${env.cores} × ${env.cpuModel}, Node ${env.node}, nats-server ${env.natsServer}`,
  );

  const results: SuiteResult[] = [];
  const t0 = performance.now();
  for (const suite of selected) {
    console.log(`\n▶ ${suite.title}`);
    const started = performance.now();
    const loadBefore = loadavg()[0] ?? NaN;
    const ran = await runInChild(suite);
    ran.notes.push(
      `load average (1 min) of the machine before / after the suite: ${loadBefore.toFixed(2)} / ${(loadavg()[0] ?? NaN).toFixed(2)} (${cpus().length} cores; other processes on the machine count too)`,
    );
    const result: SuiteResult = { ...ran, durationMs: performance.now() - started };
    results.push(result);
    console.log(`  done in ${(result.durationMs / 1000).toFixed(1)} s`);
    for (const m of result.measures)
      console.log(
        `    ${m.name}: ${m.samples.map((x) => (Number.isFinite(x) ? x.toFixed(1) : '–')).join(', ')} ${m.unit}`,
      );
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    await formatted(file, renderReport(env, cfg, results, await keptNotes(file))),
  );
  await mkdir('.data/bench', { recursive: true });
  await writeFile('.data/bench/results.json', JSON.stringify({ env, cfg, results }, null, 2));
  console.log(`\nwrote ${file} (all suites: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  // Exit explicitly: a client library timer or log stream must not keep a finished run alive.
  process.exit(results.some((r) => r.error) ? 1 : 0);
}

// On SIGINT/SIGTERM exit through process.exit, so the 'exit' hooks stop the nats-server and
// scheduler children and remove their temp dirs.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping; child processes are killed and temp dirs removed`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

await main();
