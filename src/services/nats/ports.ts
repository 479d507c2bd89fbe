import { createServer, type Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/**
 * `count` distinct TCP ports that were free on loopback a moment ago: all are bound to port 0 at
 * once (so they differ), read back, and released. Another process may still grab one before the
 * server binds it; callers that chose ports this way retry on "address already in use".
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(await listenOnAnyPort(server));
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

function listenOnAnyPort(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address !== null && typeof address === 'object') resolve(address.port);
      else reject(new Error(`unexpected address ${String(address)}`));
    });
  });
}
