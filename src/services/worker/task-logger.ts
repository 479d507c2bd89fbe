import type { TaskLog } from './task-log.js';
import type { LogShipper } from './log-shipper.js';
import type { LogFields, TaskLogger, TaskLogLevel } from './types.js';

/**
 * The `ctx.log` of one attempt: each line goes to pino (bound to the attempt) and, as JSON, to the
 * instance's log subject. Never blocks (lines are shipped in the background) and never throws.
 */
export function createTaskLogger(deps: {
  /** Bound to workerId, group, instanceId, jobId, attempt. */
  log: TaskLog;
  shipper: LogShipper;
  /** `<prefix>.log.<partition>.<instanceId>` */
  subject: string;
  attempt: number;
  workerId: string;
  clock: { now(): number };
}): TaskLogger {
  const { log, shipper, subject, attempt, workerId } = deps;
  const write = (level: TaskLogLevel, msg: string, fields?: LogFields): void => {
    try {
      log[level]({ ...fields, source: 'processor' }, msg);
      shipper.ship(subject, {
        atMs: deps.clock.now(),
        level,
        msg: String(msg),
        ...(fields !== undefined && { fields }),
        attempt,
        workerId,
      });
    } catch (err) {
      log.warn({ err }, 'a processor log line could not be written');
    }
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
