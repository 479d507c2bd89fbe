import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';

/** How to reach NATS. Every command takes these from flags (`--nats`, …) or the environment. */
export interface NatsOptions {
  /** Comma-separated server URLs, e.g. "nats://a:4222,nats://b:4222". Env: NATS_URL. */
  servers?: string;
  /** A .creds file (JWT + nkey seed) for secured servers. Env: NATS_CREDS. */
  credsFile?: string;
  /** Env: NATS_USER / NATS_PASSWORD. */
  user?: string;
  password?: string;
  /** Env: NATS_TOKEN. */
  token?: string;
  /** CA file for TLS; `tls://` URLs turn TLS on. Env: NATS_CA. */
  caFile?: string;
  /** Client name shown in server monitoring. */
  name?: string;
}

/** Fills unset options from NATS_URL, NATS_CREDS, NATS_USER, NATS_PASSWORD, NATS_TOKEN, NATS_CA. */
export function natsOptionsFromEnv(
  given: NatsOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): NatsOptions {
  const pick = (v: string | undefined, key: string) => v ?? (env[key] || undefined);
  const out: NatsOptions = { ...given };
  const map: [keyof NatsOptions, string][] = [
    ['servers', 'NATS_URL'],
    ['credsFile', 'NATS_CREDS'],
    ['user', 'NATS_USER'],
    ['password', 'NATS_PASSWORD'],
    ['token', 'NATS_TOKEN'],
    ['caFile', 'NATS_CA'],
  ];
  for (const [k, e] of map) {
    const v = pick(out[k], e);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function splitServers(servers: string): string[] {
  return servers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Connects for a long-running process: reconnects forever, never gives up on its own. */
export async function connectNats(
  opts: NatsOptions & { servers: string },
): Promise<NatsConnection> {
  const servers = splitServers(opts.servers);
  return connect({
    servers,
    name: opts.name ?? 'jetsched',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    // The client would otherwise build an Error (with a stack) for every publish and request, to
    // enrich a possible failure: measured at ~15 % of a busy scheduler's CPU (docs/benchmarks.md).
    noAsyncTraces: true,
    ...(opts.credsFile && { authenticator: credsAuthenticator(await readFile(opts.credsFile)) }),
    ...(opts.user && { user: opts.user, pass: opts.password ?? '' }),
    ...(opts.token && { token: opts.token }),
    ...(opts.caFile && { tls: { caFile: opts.caFile } }),
  });
}
