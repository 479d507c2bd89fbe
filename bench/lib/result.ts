import { median } from './stats.js';

/** Median and range of one measure over its trials. */
export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    median: median(samples),
    min: samples.length ? Math.min(...samples) : NaN,
    max: samples.length ? Math.max(...samples) : NaN,
  };
}

export interface Baseline {
  name: string;
  unit: string;
  samples: number[];
}

/** One reported number: a sample per trial, beside a baseline taken in the same run. */
export interface Measure {
  name: string;
  unit: string;
  samples: number[];
  /** The physical limit (or reference) measured in the same run; ratio = median / baseline median. */
  baseline?: Baseline;
  /** The target and whether it is met, judged on the trials. */
  target?: { text: string; met: (m: Summary, samples: readonly number[]) => boolean | string };
}

export type MeasureDef = Omit<Measure, 'samples' | 'baseline'> & { baseline?: Baseline };

/** What one benchmark suite reports. */
export interface SuiteResult {
  suite: string;
  title: string;
  measures: Measure[];
  /** Sizes and setup, as run. */
  setup: string[];
  /** Extra observations (counters, correctness checks), one line each. */
  notes: string[];
  /** Set when the suite failed; measures taken before the failure are still reported. */
  error?: string;
  durationMs: number;
}

/** Collects the measures of one suite, trial by trial. */
export class Collector {
  private readonly byName = new Map<string, Measure>();
  readonly notes: string[] = [];
  readonly setup: string[] = [];

  /** Declares a measure (in report order). Baseline samples may be shared between measures. */
  define(def: MeasureDef): Measure {
    const m: Measure = { ...def, samples: [] };
    this.byName.set(def.name, m);
    return m;
  }

  add(name: string, value: number): void {
    const m = this.byName.get(name);
    if (!m) throw new Error(`measure "${name}" was not defined`);
    m.samples.push(value);
  }

  note(line: string): void {
    this.notes.push(line);
    console.log(`    · ${line}`);
  }

  measures(): Measure[] {
    return [...this.byName.values()];
  }
}

/** A baseline whose samples are filled as its trials run. */
export function baseline(name: string, unit: string): Baseline {
  return { name, unit, samples: [] };
}

export const higherIsAtLeast =
  (x: number) =>
  (m: Summary): boolean =>
    m.median >= x;
export const lowerIsAtMost =
  (x: number) =>
  (m: Summary): boolean =>
    m.median <= x;
export const everyTrialAtMost =
  (x: number) =>
  (_m: Summary, samples: readonly number[]): boolean =>
    samples.length > 0 && samples.every((s) => s <= x);
