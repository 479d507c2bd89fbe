import type { z } from 'zod';

/** Base of every error jetsched raises on purpose; `code` is stable and machine-readable. */
export class JetschedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
  toJSON(): { code: string; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** One offending field of a rejected input. `path` is dotted, e.g. "data.spec.schedule.cron". */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Input (event, command, job file, CLI flags) that does not fit its schema. Nothing was appended. */
export class ValidationError extends JetschedError {
  constructor(
    readonly what: string,
    readonly issues: FieldIssue[],
  ) {
    super(
      'VALIDATION',
      `invalid ${what}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`,
    );
  }
  /** The first offending field, handy in tests and error replies. */
  get field(): string {
    return this.issues[0]?.path ?? '';
  }
  static fromZod(what: string, error: z.ZodError, prefix = ''): ValidationError {
    return new ValidationError(
      what,
      error.issues.map((issue) => {
        let path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
        let message = issue.message;
        if (issue.code === 'unrecognized_keys') {
          const keys = issue.keys;
          path = [path, keys[0]].filter(Boolean).join('.');
          message = `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => JSON.stringify(k)).join(', ')}`;
        }
        return { path, message };
      }),
    );
  }
}

/** An append was refused because the aggregate moved on since the writer last read it (JetStream 10071). */
export class ConcurrencyError extends JetschedError {
  constructor(
    readonly subject: string,
    readonly expectedSeq: number,
    cause?: unknown,
    /** The subject's last sequence as read right after the refusal (0: empty), when it was. */
    readonly lastSeq?: number,
  ) {
    super(
      'CONCURRENCY',
      `append to ${subject} refused: expected last subject sequence ${expectedSeq}, but the subject has moved on`,
      { cause },
    );
  }
}

/** A message or a field of it is larger than allowed. */
export class PayloadTooLargeError extends JetschedError {
  constructor(
    readonly field: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${field} is ${sizeBytes} bytes, over the limit of ${limitBytes} bytes`,
    );
  }
}

/** A job, instance or other aggregate that does not exist (or no longer does). */
export class NotFoundError extends JetschedError {
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super('NOT_FOUND', `${kind} ${JSON.stringify(id)} not found`);
  }
}

/** A command that is well-formed but not allowed in the aggregate's current state. */
export class RejectedError extends JetschedError {
  constructor(message: string) {
    super('REJECTED', message);
  }
}

/**
 * A stream or bucket of the installation exists with a configuration jetsched cannot work with
 * (made by hand, by other tooling, or by an older version). Names it, says what is wrong and how to
 * mend it; nothing is changed on the server.
 */
export class StoreConfigError extends JetschedError {
  constructor(
    readonly store: string,
    message: string,
  ) {
    super('STORE_CONFIG', message);
  }
}
