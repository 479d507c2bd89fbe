import { describe, expect, it } from 'vitest';
import { parseAuditFlags } from '../../src/cli/audit/options.js';
import { ValidationError } from '../../src/events/errors.js';

const NOW = Date.parse('2026-11-23T20:00:00.000Z');

function refused(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

describe('audit flags', () => {
  it('reads everything when no selector is given', () => {
    expect(parseAuditFlags({}, NOW)).toEqual({ selector: { kind: 'all' }, json: false });
  });

  it('counts durations back from now and takes ISO times as given', () => {
    const opts = parseAuditFlags({ since: '10m', until: '2026-11-23T19:55:00Z' }, NOW);
    expect(opts.sinceMs).toBe(NOW - 600_000);
    expect(opts.untilMs).toBe(Date.parse('2026-11-23T19:55:00Z'));
  });

  it('selects a job or an instance, not both', () => {
    expect(parseAuditFlags({ job: 'report' }, NOW).selector).toEqual({
      kind: 'job',
      jobId: 'report',
    });
    expect(parseAuditFlags({ instance: 'report~1' }, NOW).selector).toEqual({
      kind: 'instance',
      instanceId: 'report~1',
    });
    expect(refused(() => parseAuditFlags({ job: 'report', instance: 'report~1' }, NOW)).field).toBe(
      '--instance',
    );
  });

  it('refuses ids that would act as subject wildcards', () => {
    expect(refused(() => parseAuditFlags({ job: 'rep*' }, NOW)).field).toBe('--job');
    expect(refused(() => parseAuditFlags({ instance: 'report.>' }, NOW)).field).toBe('--instance');
  });

  it('refuses unknown event types, naming them', () => {
    const err = refused(() => parseAuditFlags({ type: 'JobFired,JobExploded' }, NOW));
    expect(err.field).toBe('--type');
    expect(err.message).toContain('"JobExploded"');
    expect(parseAuditFlags({ type: 'JobFired, InstanceFailed' }, NOW).types).toEqual(
      new Set(['JobFired', 'InstanceFailed']),
    );
  });

  it('refuses bad bounds', () => {
    expect(refused(() => parseAuditFlags({ since: 'yesterday' }, NOW)).field).toBe('--since');
    expect(refused(() => parseAuditFlags({ fromSeq: '0' }, NOW)).field).toBe('--from-seq');
    expect(refused(() => parseAuditFlags({ fromSeq: '9', toSeq: '3' }, NOW)).field).toBe(
      '--to-seq',
    );
    expect(refused(() => parseAuditFlags({ since: '1m', until: '1h' }, NOW)).field).toBe('--until');
  });
});
