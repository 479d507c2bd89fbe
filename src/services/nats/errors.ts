import { JetschedError } from '../../events/errors.js';

/** No usable nats-server (>= 2.11) was found; the message says how to install one. */
export class NatsServerNotFoundError extends JetschedError {
  constructor(
    readonly tried: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      'NATS_SERVER_NOT_FOUND',
      `no nats-server >= 2.11 found (tried: ${tried.join('; ')}). ` +
        'Run `npm run setup:nats` (infra/install-nats-server.sh), or set NATS_SERVER_BIN to a nats-server binary.',
      options,
    );
  }
}

/**
 * The nats-server a process connected to is older than jetsched needs. Nothing was created on it:
 * there, no watcher would see a heartbeat or lease expire, so a dead process would keep its work.
 */
export class NatsServerTooOldError extends JetschedError {
  constructor(
    /** The version the server announced, e.g. "2.9.10". */
    readonly version: string,
    /** Where it was reached (the URLs asked for). */
    readonly servers: string,
  ) {
    super(
      'NATS_SERVER_TOO_OLD',
      `nats-server ${version} (at ${servers}) is too old: jetsched needs nats-server 2.11 or newer, ` +
        'for KV limit markers (by which an expired heartbeat or lease reaches the others). ' +
        'Nothing was created on it. Upgrade the server (or point NATS_URL / --nats at a newer one).',
    );
  }
}

/** A nats-server process did not become ready, or exited while starting. `stderrTail` holds its last log lines. */
export class NatsServerStartError extends JetschedError {
  constructor(
    readonly serverName: string,
    reason: string,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      'NATS_SERVER_START_FAILED',
      `nats-server "${serverName}" ${reason}` +
        (stderrTail ? `\n--- last log lines ---\n${stderrTail}` : ''),
      options,
    );
  }
}

/** A condition awaited with a deadline did not come true in time. */
export class WaitTimeoutError extends JetschedError {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    options?: { cause?: unknown },
  ) {
    super('WAIT_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`, options);
  }
}
