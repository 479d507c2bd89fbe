import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  NatsServerNotFoundError,
  NatsServerStartError,
  findNatsServerBinary,
  startNatsServer,
} from '../../src/services/nats/index.js';

async function occupyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, server };
}

describe('findNatsServerBinary()', () => {
  it('tells to run `npm run setup:nats` when no nats-server can be found', async () => {
    const found = findNatsServerBinary({
      env: { PATH: '/nonexistent' },
      projectRoot: '/nonexistent',
    });
    await expect(found).rejects.toBeInstanceOf(NatsServerNotFoundError);
    await expect(found).rejects.toThrow(/npm run setup:nats/);
  });

  it('refuses an unusable $NATS_SERVER_BIN instead of silently falling back', async () => {
    await expect(findNatsServerBinary({ env: { NATS_SERVER_BIN: '/bin/true' } })).rejects.toThrow(
      /NATS_SERVER_BIN=\/bin\/true: unrecognised version output/,
    );
  });
});

describe('startNatsServer()', () => {
  it('fails fast with the server log when its port is taken', async () => {
    const { port, server } = await occupyPort();
    try {
      const started = Date.now();
      const error: unknown = await startNatsServer({ port, startTimeoutMs: 10_000 }).catch(
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(NatsServerStartError);
      expect((error as NatsServerStartError).message).toMatch(
        /exited while starting[\s\S]*address already in use/,
      );
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      server.close();
    }
  });

  it('reports a binary that cannot be spawned', async () => {
    await expect(startNatsServer({ binary: '/nonexistent/nats-server' })).rejects.toThrow(
      /could not be spawned[\s\S]*ENOENT/,
    );
  });
});
