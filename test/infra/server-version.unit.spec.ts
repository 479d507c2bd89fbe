/**
 * A process connected to a nats-server older than 2.11 refuses it before making anything there:
 * such a server takes a bucket's TTL and limit markers without honouring them, so heartbeats and
 * leases would never expire. (openRuntime reads the version the server announced on connecting;
 * checked by hand against Debian bookworm's nats-server 2.9.10, which no test here can start.)
 */
import { describe, expect, it } from 'vitest';
import { NatsServerTooOldError } from '../../src/services/nats/errors.js';
import { announcedVersionVerdict } from '../../src/services/nats/server-binary.js';

describe('the version a connected nats-server announced', () => {
  it.each([
    ['2.9.10', 'too-old'],
    ['2.10.29', 'too-old'],
    ['1.4.1', 'too-old'],
    ['2.11.0', 'ok'],
    ['2.12.0-dev', 'ok'],
    ['2.15.1', 'ok'],
    ['3.0.0', 'ok'],
  ] as const)('%s is %s', (version, verdict) => {
    expect(announcedVersionVerdict(version)).toBe(verdict);
  });

  it('is unknown when absent or not a version, and then let be', () => {
    expect(announcedVersionVerdict(undefined)).toBe('unknown');
    expect(announcedVersionVerdict('')).toBe('unknown');
    expect(announcedVersionVerdict('dev')).toBe('unknown');
  });

  it('too old, it is refused with a typed error naming the version, the servers and the minimum', () => {
    const err = new NatsServerTooOldError('2.9.10', 'nats://10.0.0.5:4222');
    expect(err.code).toBe('NATS_SERVER_TOO_OLD');
    expect(err.version).toBe('2.9.10');
    expect(err.message).toMatch(/nats-server 2\.9\.10 \(at nats:\/\/10\.0\.0\.5:4222\) is too old/);
    expect(err.message).toMatch(/2\.11 or newer/);
    expect(err.message).toMatch(/Nothing was created/);
  });
});
