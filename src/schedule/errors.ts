/** A stored schedule that cannot be evaluated (e.g. a cron expression cron-parser rejects). */
export class InvalidScheduleError extends Error {
  readonly code = 'INVALID_SCHEDULE';
  override readonly name = 'InvalidScheduleError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
