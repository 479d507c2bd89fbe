/**
 * A worker claims an attempt ahead of its time (`--claim-ahead`), then is SIGSTOPped past its
 * heartbeat TTL and the attempt's time. The scheduler finds it lost, and the job's retry runs on
 * another worker. When the stopped worker is SIGCONTed, its timer for the claimed attempt is long
 * due: it must not call the processor (the job would have run twice), and says so.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/services/commands/client.js';
import { useNatsCluster } from '../support/nats.js';
import { useFaultInstallation } from './installation.js';
import {
  logMsg,
  startScheduler,
  startWorker,
  waitForLog,
  type ChildHandle,
  type LogLine,
} from './processes.js';

/** Processors module: `mark` appends who ran which attempt to $MARK_FILE. */
const MARK_PROCESSORS = `import { appendFileSync } from 'node:fs';

export default {
  async mark(ctx) {
    appendFileSync(process.env.MARK_FILE, \`\${process.env.MARK_WHO} \${ctx.instanceId} \${ctx.attempt}\\n\`);
  },
};
`;

const LEAD_MS = 4000;
const startsWith = (text: string) => (l: LogLine) => l.msg.startsWith(text);
const cluster = useNatsCluster();

describe('a worker stopped after claiming an attempt', () => {
  const installation = useFaultInstallation(cluster, 'claimed');

  it('does not run it once resumed after another worker ran the retry', async () => {
    const { rt, prefix, logDir } = installation;
    const base = { urls: cluster.urls, prefix, logDir };
    const processorsModule = join(logDir, 'mark-processors.mjs');
    const marks = join(logDir, 'marks.txt');
    mkdirSync(logDir, { recursive: true });
    writeFileSync(processorsModule, MARK_PROCESSORS);
    writeFileSync(marks, '');
    const worker = (id: string, args: string[], logLevel?: 'debug') =>
      startWorker({
        ...base,
        id,
        group: 'g',
        processorsModule,
        args,
        env: { MARK_FILE: marks, MARK_WHO: id },
        ...(logLevel && { logLevel }),
      });
    const scheduler: ChildHandle = startScheduler({
      ...base,
      id: 's-1',
      args: ['--fire-ahead', String(LEAD_MS)],
    });
    const stopped = worker('w-a', ['--claim-ahead', String(LEAD_MS)], 'debug');
    await Promise.all([
      waitForLog(scheduler, logMsg('jetsched server running'), 60_000),
      waitForLog(stopped, logMsg('worker started'), 60_000),
    ]);

    const fireAtMs = Date.now() + LEAD_MS + 2000;
    await createClient(rt).send('RegisterJob', {
      spec: {
        name: 'claimed',
        group: 'g',
        processor: 'mark',
        schedule: { at: new Date(fireAtMs).toISOString() },
        retry: { maxAttempts: 2, backoff: 'fixed', initialDelay: '100ms', jitter: 0 },
      },
    });
    const claim = await waitForLog(stopped, logMsg('attempt started'), 30_000, {
      what: 'the claim of attempt 1',
    });
    expect(claim['attempt']).toBe(1);
    expect(Date.now()).toBeLessThan(fireAtMs); // claimed ahead of its time, as set up
    stopped.kill('SIGSTOP');

    // At debug: an attempt's success is logged at that level.
    const other = worker('w-b', [], 'debug');
    await waitForLog(other, logMsg('worker started'), 60_000);
    const lost = await waitForLog(scheduler, logMsg('worker lost; attempt ended'), 30_000, {
      what: 'the scheduler finding w-a lost',
    });
    expect(lost).toMatchObject({ instanceId: claim['instanceId'], workerId: 'w-a', attempt: 1 });
    const retried = await waitForLog(other, logMsg('attempt succeeded'), 30_000, {
      what: 'the retry succeeding on w-b',
    });
    expect(retried).toMatchObject({ instanceId: claim['instanceId'], attempt: 2 });
    expect(Date.now()).toBeGreaterThan(fireAtMs); // the claimed attempt's time passed while stopped

    stopped.kill('SIGCONT');
    const declined = await waitForLog(
      stopped,
      startsWith('not running a claimed attempt'),
      30_000,
      {
        what: 'w-a declining the claimed attempt',
      },
    );
    expect(declined).toMatchObject({ instanceId: claim['instanceId'], attempt: 1 });
    // Its report of the attempt as failed is refused: the scheduler had ended the attempt.
    await waitForLog(stopped, startsWith('late report refused'), 30_000, {
      what: 'w-a’s report being refused',
    });

    expect(readFileSync(marks, 'utf8')).toBe(`w-b ${String(claim['instanceId'])} 2\n`);
  }, 180_000);
});
