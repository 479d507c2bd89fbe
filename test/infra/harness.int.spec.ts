import { access } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { getJsz, startNatsServer } from '../../src/services/nats/index.js';
import { freePorts } from '../../src/services/nats/ports.js';
import { uniquePrefix, useNats, useNatsCluster, waitFor } from '../support/nats.js';

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

describe('embedded nats-server', () => {
  it('starts with JetStream, stores a published message, and is gone after stop()', async () => {
    const server = await startNatsServer();
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const name = uniquePrefix('single');
      await jsm.streams.add({ name, subjects: [`${name}.>`] });
      const ack = await js.publish(`${name}.hello`, 'world');
      expect(ack).toMatchObject({ stream: name, seq: 1, duplicate: false });
      expect((await jsm.streams.info(name)).state.messages).toBe(1);
    } finally {
      await nc.close();
      await server.stop();
    }
    expect(server.running).toBe(false);
    expect(processAlive(server.pid)).toBe(false);
    expect(await portAccepts(server.port)).toBe(false);
    await expect(access(server.storeDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('serves Go’s CPU profile on the loopback port given as profPort, and none without it', async () => {
    const [profPort = 0] = await freePorts(1);
    const server = await startNatsServer({ profPort });
    try {
      const res = await fetch(`http://127.0.0.1:${profPort}/debug/pprof/profile?seconds=1`);
      expect(res.status).toBe(200);
      const body = new Uint8Array(await res.arrayBuffer());
      expect([...body.subarray(0, 2)]).toEqual([0x1f, 0x8b]); // a gzipped pprof profile
    } finally {
      await server.stop();
    }
    const plain = await startNatsServer();
    try {
      expect(await portAccepts(profPort)).toBe(false);
    } finally {
      await plain.stop();
    }
  });
});

describe('useNats()', () => {
  const nats = useNats();

  it('gives each test its own streams through uniquePrefix()', async () => {
    const nc = await nats.connect();
    const jsm = await jetstreamManager(nc);
    const [a, b] = [uniquePrefix('iso'), uniquePrefix('iso')];
    expect(a).not.toBe(b);
    for (const name of [a, b]) await jsm.streams.add({ name, subjects: [`${name}.>`] });
    await jetstream(nc).publish(`${a}.x`, 'only in a');
    expect((await jsm.streams.info(a)).state.messages).toBe(1);
    expect((await jsm.streams.info(b)).state.messages).toBe(0);
    if (!process.env['NATS_URL']) expect(nats.source).not.toBe('env');
  });
});

describe('useNatsCluster()', () => {
  const nats = useNatsCluster();

  it('keeps an R3 stream writable after SIGKILL of its leader, and the node rejoins after restart()', async () => {
    expect(nats.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    expect(new Set(nats.nodes.flatMap((n) => [n.port, n.monitorPort, n.clusterPort])).size).toBe(9);
    const nc = await nats.connect();
    // Placing an R3 stream goes through the cluster's meta leader, which took over 5 s in a CI run
    // while other specs loaded the 2 cores.
    const jsm = await jetstreamManager(nc, { timeout: 20_000 });
    const js = jetstream(nc, { timeout: 5_000 });
    const name = uniquePrefix('r3');
    const created = await jsm.streams.add({ name, subjects: [`${name}.>`], num_replicas: 3 });
    expect(created.config.num_replicas).toBe(3);
    // A new R3 stream answers once its leader is elected and its subjects' interest has reached
    // the node this client is on; until then a publish meets no responders. Retried with a msgID.
    await waitFor(() => js.publish(`${name}.before`, '1', { msgID: 'before', timeout: 1_000 }), {
      what: 'the first publish to the new R3 stream',
      timeoutMs: 10_000,
      intervalMs: 100,
    });

    const info = () => jsm.streams.info(name);
    const oldLeader = await waitFor(async () => (await info()).cluster?.leader, {
      what: 'a stream leader',
      timeoutMs: 10_000,
    });
    const victim = nats.node(oldLeader);
    victim.kill('SIGKILL');
    expect((await victim.waitExit()).signal).toBe('SIGKILL');

    // Retried with the same msgID, so a publish whose ack was lost is not stored twice.
    const ack = await waitFor(
      () => js.publish(`${name}.after`, '2', { msgID: 'after', timeout: 1_000 }),
      {
        what: 'a publish acknowledged by the surviving replicas',
        timeoutMs: 15_000,
        intervalMs: 200,
      },
    );
    expect(ack.stream).toBe(name);
    const afterFailover = await waitFor(info, {
      what: 'stream info after failover',
      timeoutMs: 15_000,
    });
    expect(afterFailover.cluster?.leader).not.toBe(oldLeader);
    expect(afterFailover.state.messages).toBe(2);

    await victim.restart();
    expect(victim.running).toBe(true);
    await waitFor(
      async () => {
        const replicas = (await info()).cluster?.replicas ?? [];
        return replicas.length === 2 && replicas.every((r) => r.current && !r.offline);
      },
      { what: 'all replicas current again', timeoutMs: 15_000 },
    );
    const rejoined = await getJsz(victim.monitorPort);
    expect(rejoined.meta_cluster?.leader).toBeTruthy();
    await nats.cluster.waitReady(15_000);
  });
});
