import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/services/commands/client.js';
import { loadQueryState, listInstances } from '../../src/services/query.js';
import { partitionOf } from '../../src/events/subjects.js';
import { useNats } from '../support/nats.js';
import { useServerAndWorker, waitAllSucceeded } from '../scheduler/helpers.js';

const nats = useNats();

describe("the query side scoped to one job's partition", () => {
  const env = useServerAndWorker(nats, { work: async () => 'done' });

  /** Registers manual jobs, triggers each twice, and waits until every instance has succeeded. */
  async function jobsRun(jobIds: string[]): Promise<void> {
    const client = createClient(env.rt);
    const instances: string[] = [];
    for (const jobId of jobIds) {
      await client.send('RegisterJob', {
        spec: { name: jobId, processor: 'work', schedule: { manual: true } },
      });
      for (const triggerId of ['t1', 't2']) {
        const { result } = await client.send('TriggerJob', { jobId, triggerId });
        instances.push(String(result.instanceId));
      }
    }
    await waitAllSucceeded(env.rt, instances);
  }

  it('shows a job and its instances as the whole fold does, without the jobs of other partitions', async () => {
    const { partitions } = env.rt;
    const candidates = ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o'];
    const other = candidates.find(
      (id) => partitionOf(id, partitions) !== partitionOf('a', partitions),
    );
    expect(other).toBeDefined();
    await jobsRun(['a', other!]);

    const everything = await loadQueryState(env.rt);
    const scoped = await loadQueryState(env.rt, { jobId: 'a' });

    expect(scoped.jobs.get('a')).toEqual(everything.jobs.get('a'));
    expect(scoped.jobs.get('a')?.runs).toBe(2);
    const ofA = listInstances(scoped, { jobId: 'a' });
    expect(ofA.map((i) => i.status)).toEqual(['succeeded', 'succeeded']);
    expect(ofA).toEqual(listInstances(everything, { jobId: 'a' }));
    // The other job's partition was not read.
    expect(everything.jobs.has(other!)).toBe(true);
    expect(scoped.jobs.has(other!)).toBe(false);
    expect(listInstances(scoped, { jobId: other! })).toEqual([]);
  });

  it('finds nothing for a job that does not exist', async () => {
    const scoped = await loadQueryState(env.rt, { jobId: 'no-such-job' });
    expect(scoped.jobs.has('no-such-job')).toBe(false);
    expect(listInstances(scoped, { jobId: 'no-such-job' })).toEqual([]);
  });
});
