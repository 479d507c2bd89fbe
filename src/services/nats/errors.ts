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
