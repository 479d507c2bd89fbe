import { JetschedError, NotFoundError, RejectedError, ValidationError } from '../events/errors.js';

/** Exit codes of the CLI: 0 ok, 1 failure (NATS, I/O, bugs), 2 the request itself was refused. */
export const ExitCode = { Ok: 0, Failure: 1, Refused: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(err: unknown): ExitCode {
  const refused =
    err instanceof ValidationError || err instanceof NotFoundError || err instanceof RejectedError;
  return refused ? ExitCode.Refused : ExitCode.Failure;
}

/** The `{ code, message }` of any thrown value; codes of errors we did not raise on purpose are "ERROR". */
export function errorInfo(err: unknown): { code: string; message: string } {
  if (err instanceof JetschedError) return err.toJSON();
  if (err instanceof Error) return { code: 'ERROR', message: err.message || err.name };
  return { code: 'ERROR', message: String(err) };
}

/** One line for the user: `error: <message>`, or `{"error":{code,message}}` in --json mode. */
export function formatError(err: unknown, json: boolean): string {
  const info = errorInfo(err);
  return json ? JSON.stringify({ error: info }) : `error: ${info.message}`;
}

/** A flag or option value the CLI cannot use; exits with code 2. */
export function invalidOption(flag: string, message: string): ValidationError {
  return new ValidationError('option', [{ path: flag, message }]);
}
