import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { createFailureLog } from '../../src/services/scheduler/failure-log.js';

/** A pino logger whose lines land in an array, parsed. */
function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'debug' },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

describe('scheduler failure log', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('logs the first failure of a burst with its error, and the rest as one summary', () => {
    const { log, lines } = capture();
    const failures = createFailureLog(log, 1000);
    failures.report(new Error('timeout'), 'inst:a~1');
    for (let i = 0; i < 300; i++) failures.report(new Error('timeout'), `job:j${i}`);
    failures.report(new TypeError('boom'), 'fire:b~2');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 50,
      key: 'inst:a~1',
      err: { message: 'timeout' },
      msg: 'scheduler step failed; will retry',
    });

    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      level: 50,
      failures: 301,
      errors: { 'Error: timeout': 300, 'TypeError: boom': 1 },
      keys: ['job:j0', 'job:j1', 'job:j2', 'job:j3', 'job:j4'],
      msg: 'more scheduler steps failed; will retry',
    });
  });

  it('starts a new burst after a quiet window, and writes no summary for a lone failure', () => {
    const { log, lines } = capture();
    const failures = createFailureLog(log, 1000);
    failures.report(new Error('first'), 'job:a');
    vi.advanceTimersByTime(5000);
    failures.report(new Error('second'), 'job:b');
    vi.advanceTimersByTime(5000);
    expect(lines.map((l) => l['key'])).toEqual(['job:a', 'job:b']);
  });

  it('writes what it counted when flushed early (on stop)', () => {
    const { log, lines } = capture();
    const failures = createFailureLog(log, 1000);
    failures.report(new Error('x'), 'job:a');
    failures.report(new Error('x'), 'job:b');
    failures.flush();
    expect(lines[1]).toMatchObject({ failures: 1, keys: ['job:b'] });
    vi.advanceTimersByTime(5000);
    expect(lines).toHaveLength(2);
  });
});
