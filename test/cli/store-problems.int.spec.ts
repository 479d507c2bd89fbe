/**
 * An installation whose lease bucket was made elsewhere without a TTL: the long-running commands
 * refuse it (a scheduler would run without takeover), the others warn and still answer, so an
 * operator can look at and audit it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { runCliCaptured } from '../support/cli.js';
import { names } from '../../src/events/subjects.js';
import { uniquePrefix, useNats } from '../support/nats.js';

const nats = useNats();

describe('the CLI on an installation with a lease bucket that never expires its keys', () => {
  let prefix: string;
  beforeAll(async () => {
    prefix = uniquePrefix('cli');
    const nc = await nats.connect();
    await new Kvm(jetstream(nc)).create(names(prefix).leaseBucket, { history: 1 });
  });

  const cli = (...args: string[]) =>
    runCliCaptured(['--nats', nats.url, '--prefix', prefix, '--log-level', 'warn'], args);

  it('refuses to run a scheduler, naming the bucket and what it lacks', async () => {
    const { code, stderr: err } = await cli('server');
    expect(code).not.toBe(0);
    expect(err).toContain(`KV bucket ${names(prefix).leaseBucket} exists without a TTL`);
  });

  it('still shows the status, with the problem logged as a warning', async () => {
    const { code, stdout: out, stderr: err } = await cli('status', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ members: [] });
    const warning = err
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; store?: string; msg: string })
      .find((l) => l.store === names(prefix).leaseBucket);
    expect(warning).toMatchObject({ level: 40 });
    expect(warning?.msg).toContain('exists without a TTL');
  });
});
