import { describe, expect, it } from 'vitest';
import { names, parseEventSubject, subjects } from '../../src/events/subjects.js';

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
