import { describe, expect, it } from 'vitest';
import {
  isTriggerSubjectOf,
  installationStreams,
  names,
  parseEventSubject,
  subjects,
} from '../../src/events/subjects.js';

const n = names('acme');

describe('reading an event subject back into its parts', () => {
  it('reads the partition, kind and id of job and instance subjects', () => {
    expect(parseEventSubject(n, subjects.job(n, 7, 'nightly-report'))).toEqual({
      partition: 7,
      kind: 'job',
      id: 'nightly-report',
    });
    expect(parseEventSubject(n, subjects.instance(n, 0, 'nightly-report~t-9'))).toEqual({
      partition: 0,
      kind: 'inst',
      id: 'nightly-report~t-9',
    });
    expect(parseEventSubject(n, subjects.triggers(n, 3, 'nightly-report'))).toEqual({
      partition: 3,
      kind: 'trig',
      id: 'nightly-report',
    });
  });

  it('is undefined for anything that is not an event subject of this prefix', () => {
    for (const subject of [
      'other.evt.1.job.a', // another installation
      'acme.task.default',
      'acme.evt.1.job', // no id
      'acme.evt.1.job.', // empty id
      'acme.evt..job.a', // no partition
      'acme.evt.x.job.a', // partition not a number
      'acme.evt.1.5.job.a', // partition not an integer
      'acme.evt.1.cron.a', // unknown kind
      'acme.evt.1.job.a.b', // one token too many
    ]) {
      expect(parseEventSubject(n, subject), subject).toBeUndefined();
    }
  });
});

describe("telling a job's trigger subject from its other subjects", () => {
  it("is the job's trigger subject, of any partition and prefix", () => {
    expect(isTriggerSubjectOf(subjects.triggers(n, 3, 'mail'), 'mail')).toBe(true);
    expect(isTriggerSubjectOf('other.evt.12.trig.mail', 'mail')).toBe(true);
  });

  it("is not the job's own subject, another job's trigger subject, or an instance's", () => {
    expect(isTriggerSubjectOf(subjects.job(n, 3, 'mail'), 'mail')).toBe(false);
    expect(isTriggerSubjectOf(subjects.triggers(n, 3, 'email'), 'mail')).toBe(false);
    expect(isTriggerSubjectOf(subjects.triggers(n, 3, 'mail'), 'ail')).toBe(false);
    expect(isTriggerSubjectOf(subjects.instance(n, 3, 'mail~t-1'), 'mail~t-1')).toBe(false);
  });
});

describe('the streams of an installation', () => {
  it('are its event, task and log streams and the streams of its three KV buckets', () => {
    expect(installationStreams(names('acme-prod'))).toEqual([
      'ACME_PROD_EVENTS',
      'ACME_PROD_TASKS',
      'ACME_PROD_LOGS',
      'KV_acme-prod-heartbeats',
      'KV_acme-prod-leases',
      'KV_acme-prod-snapshots',
    ]);
  });
});
