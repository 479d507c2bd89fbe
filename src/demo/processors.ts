import { setTimeout as sleep } from 'node:timers/promises';
import type { Processor } from '../services/worker/types.js';

/** Processors of the demo (and an example of a processor module for `jetsched worker`). */
export const demoProcessors: Record<string, Processor> = {
  /** Logs a greeting and returns. */
  async hello(ctx) {
    ctx.log.info('hello from the demo', {
      fireTime: new Date(ctx.fireTimeMs).toISOString(),
      attempt: ctx.attempt,
    });
    return { greeted: (ctx.params as { name?: string } | undefined)?.name ?? 'world' };
  },
  /** Fails its first attempt, succeeds on the retry: shows retries with backoff. */
  async flaky(ctx) {
    if (ctx.attempt === 1) throw new Error('transient failure on the first attempt');
    ctx.log.info('worked on the retry', { attempt: ctx.attempt });
    return { attempt: ctx.attempt };
  },
  /** Reports progress and takes longer than its job's timeout: shows a timeout that sticks. */
  async slow(ctx) {
    for (let i = 1; i <= 4; i++) {
      await sleep(400, undefined, { signal: ctx.signal });
      await ctx.progress(i / 4, `step ${i}/4`);
    }
    return { done: true };
  },
};

export default demoProcessors;
