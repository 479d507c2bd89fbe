/**
 * The pipelined publisher means what `js.publish` means: one acknowledgement per message with its
 * stream sequence, duplicates recognised by message id, refusals as the server's API errors, and
 * no publish left waiting forever (timeouts, a closed connection).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  createJsPublisher,
  NoStreamResponderError,
  PublisherClosedError,
  PublishTimeoutError,
} from '../../src/events/publisher.js';
import { startNatsServer, type NatsServerHandle } from '../../src/services/nats/index.js';
import { useNats, uniquePrefix } from '../support/nats.js';

const nats = useNats();
const bytes = (s: string) => new TextEncoder().encode(s);

/**
 * A signal is delivered asynchronously: a server still running for a moment after SIGSTOP may
 * answer one more publish. Resolves once the process is really stopped (state T in
 * /proc/<pid>/stat).
 */
async function untilStopped(pid: number): Promise<void> {
  for (;;) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (stat[stat.lastIndexOf(')') + 2] === 'T') return;
    await sleep(5);
  }
}

describe('pipelined JetStream publisher', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let prefix: string;

  beforeAll(async () => {
    nc = await nats.connect();
    jsm = await jetstreamManager(nc);
    prefix = uniquePrefix('pub');
    await jsm.streams.add({ name: prefix.toUpperCase(), subjects: [`${prefix}.>`] });
  });

  it('acknowledges each of many concurrent publishes with its own sequence, in publish order', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    const acks = await Promise.all(
      Array.from({ length: 500 }, (_, i) => publisher.publish(`${prefix}.many`, bytes(`m${i}`))),
    );
    const seqs = acks.map((a) => a.seq);
    expect(new Set(seqs).size).toBe(500);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(acks.every((a) => a.stream === prefix.toUpperCase() && !a.duplicate)).toBe(true);
    const stored = await jsm.streams.getMessage(prefix.toUpperCase(), { seq: seqs[42]! });
    expect(new TextDecoder().decode(stored!.data)).toBe('m42');
  });

  it('stores a message id once and says so on the repeat', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    const first = await publisher.publish(`${prefix}.dedup`, bytes('x'), { msgId: 'same' });
    const again = await publisher.publish(`${prefix}.dedup`, bytes('x'), { msgId: 'same' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ seq: first.seq, duplicate: true });
  });

  it('sends headers and refuses a stale expected subject sequence with the server error code', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    const subject = `${prefix}.guarded`;
    const a = await publisher.publish(subject, bytes('1'), {
      expectedLastSubjectSeq: 0,
      headers: { 'Jetsched-Type': 'Test' },
    });
    const stored = await jsm.streams.getMessage(prefix.toUpperCase(), { seq: a.seq });
    expect(stored?.header.get('Jetsched-Type')).toBe('Test');
    const refused = await publisher
      .publish(subject, bytes('2'), { expectedLastSubjectSeq: 0 })
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JetStreamApiError);
    expect((refused as JetStreamApiError).code).toBe(10071);
    await expect(
      publisher.publish(subject, bytes('2'), { expectedLastSubjectSeq: a.seq }),
    ).resolves.toMatchObject({ seq: a.seq + 1 });
  });

  it('stores the message id and every header as given', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    const a = await publisher.publish(`${prefix}.headed`, bytes('h'), {
      msgId: 'job-1~t-1:start:1',
      expectedLastSubjectSeq: 0,
      headers: { 'Jetsched-Type': 'InstanceStarted', 'X-Other': 'a: b' },
    });
    const stored = await jsm.streams.getMessage(prefix.toUpperCase(), { seq: a.seq });
    expect(stored?.header.get('Nats-Msg-Id')).toBe('job-1~t-1:start:1');
    expect(stored?.header.get('Jetsched-Type')).toBe('InstanceStarted');
    expect(stored?.header.get('X-Other')).toBe('a: b');
  });

  it('refuses a header value with a line break and publishes nothing', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    const subject = `${prefix}.linebreak`;
    await expect(
      publisher.publish(subject, bytes('x'), { msgId: 'a\r\nNats-Expected-Stream: other' }),
    ).rejects.toThrow(/Nats-Msg-Id.*cannot contain/);
    const after = await publisher.publish(subject, bytes('y'), { expectedLastSubjectSeq: 0 });
    expect(after.duplicate).toBe(false);
  });

  it('rejects a publish no stream stores as a no-responders error', async () => {
    const publisher = createJsPublisher(nc, { timeoutMs: 5000 });
    await expect(publisher.publish(`${uniquePrefix('nostream')}.x`, bytes('x'))).rejects.toThrow(
      NoStreamResponderError,
    );
  });

  describe('when the server does not answer', () => {
    let server: NatsServerHandle;
    let own: NatsConnection;

    beforeAll(async () => {
      server = await startNatsServer();
      own = await connect({ servers: server.url, reconnect: false });
      await (await jetstreamManager(own)).streams.add({ name: 'FROZEN', subjects: ['frozen.>'] });
    });
    afterAll(async () => {
      server.kill('SIGCONT');
      await own.close().catch(() => undefined);
      await server.stop();
    });

    it('times a publish out, then fails the waiting ones when the connection closes', async () => {
      const publisher = createJsPublisher(own, { timeoutMs: 5000, sweepEveryMs: 20 });
      await publisher.publish('frozen.a', bytes('warm'));
      server.kill('SIGSTOP');
      await untilStopped(server.pid);
      const t0 = Date.now();
      const late = await publisher
        .publish('frozen.a', bytes('x'), { timeoutMs: 200 })
        .catch((err: unknown) => err);
      expect(late).toBeInstanceOf(PublishTimeoutError);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
      const waiting = publisher.publish('frozen.a', bytes('y')).catch((err: unknown) => err);
      await own.close();
      expect(await waiting).toBeInstanceOf(PublisherClosedError);
      await expect(publisher.publish('frozen.a', bytes('z'))).rejects.toThrow(PublisherClosedError);
    });
  });
});
