/** The metrics flags of `server` and `worker` are checked before anything connects. */
import { describe, expect, it } from 'vitest';
import { runCliCaptured } from '../support/cli.js';

describe('--metrics-port', () => {
  it.each([
    ['server', []],
    ['worker', ['--group', 'g', '--processors', 'unused.mjs']],
  ] as const)('refuses a port that is not one, on `%s`, naming the flag', async (cmd, rest) => {
    for (const bad of ['70000', 'abc', '-1']) {
      const { code, stderr } = await runCliCaptured(
        ['--nats', 'nats://127.0.0.1:1'],
        [cmd, ...rest, '--metrics-port', bad],
      );
      expect(code).toBe(2);
      expect(stderr).toMatch(/--metrics-port/);
    }
  });
});
