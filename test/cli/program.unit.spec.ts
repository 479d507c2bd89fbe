import { describe, expect, it } from 'vitest';
import { exitCodeFor, formatError } from '../../src/cli/errors.js';
import { runCliCaptured } from '../support/cli.js';
import {
  ConcurrencyError,
  NotFoundError,
  RejectedError,
  ValidationError,
} from '../../src/events/errors.js';

/** Runs the CLI in-process; none of these cases get as far as connecting to NATS. */
const cli = (...args: string[]) => runCliCaptured(['--nats', 'nats://127.0.0.1:1'], args, () => 0);

describe('jetsched program', () => {
  it('prints help listing the audit command', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: jetsched');
    expect(stdout).toMatch(/audit \[options\]/);
  });

  it('exits with 2 on an unknown option', async () => {
    const { code, stderr } = await cli('audit', '--colour');
    expect(code).toBe(2);
    expect(stderr).toContain("unknown option '--colour'");
  });

  it('prints refused flags as `error: …` with exit code 2', async () => {
    const { code, stderr } = await cli('audit', '--since', 'soon');
    expect(code).toBe(2);
    expect(stderr).toBe(
      'error: invalid option: --since: "soon" is neither an ISO 8601 time nor a duration like "10m", "2h", "1d"\n',
    );
  });

  it.each([
    ['--fire-ahead', 'soon', 'expected an integer of 0 or more, got "soon"'],
    ['--misfire-threshold', '-5', 'expected an integer of 0 or more, got "-5"'],
  ])('refuses server %s %s naming the flag, before connecting', async (flag, value, message) => {
    const { code, stderr } = await cli('server', flag, value);
    expect(code).toBe(2);
    expect(stderr).toBe(`error: invalid option: ${flag}: ${message}\n`);
  });

  it('refuses job create --max-attempts that is not a positive integer, naming the flag', async () => {
    const args = ['job', 'create', '--name', 'a', '--processor', 'p', '--manual'];
    const { code, stderr } = await cli(...args, '--max-attempts', 'three');
    expect(code).toBe(2);
    expect(stderr).toBe(
      'error: invalid option: --max-attempts: expected a positive integer, got "three"\n',
    );
  });

  it('prints errors as JSON on stdout in --json mode', async () => {
    const { code, stdout } = await cli('audit', '--json', '--job', 'a.b');
    expect(code).toBe(2);
    expect(JSON.parse(stdout)).toEqual({
      error: { code: 'VALIDATION', message: expect.stringContaining('--job') as unknown },
    });
  });
});

describe('CLI errors', () => {
  it('exits with 2 when the request itself is refused, 1 otherwise', () => {
    expect(exitCodeFor(new ValidationError('job', [{ path: 'name', message: 'required' }]))).toBe(
      2,
    );
    expect(exitCodeFor(new NotFoundError('job', 'report'))).toBe(2);
    expect(exitCodeFor(new RejectedError('job is deleted'))).toBe(2);
    expect(exitCodeFor(new ConcurrencyError('s', 1))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('formats errors as a line or as JSON', () => {
    const err = new NotFoundError('job', 'report');
    expect(formatError(err, false)).toBe('error: job "report" not found');
    expect(JSON.parse(formatError(err, true))).toEqual({
      error: { code: 'NOT_FOUND', message: 'job "report" not found' },
    });
    expect(JSON.parse(formatError(new Error('boom'), true))).toEqual({
      error: { code: 'ERROR', message: 'boom' },
    });
  });
});
