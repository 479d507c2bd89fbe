import type { EventContext } from '../events/build.js';
import { causedBy, makeEvent } from '../events/build.js';
import { RejectedError, NotFoundError } from '../events/errors.js';
import type { InstanceEvent } from '../events/event.js';
import { msgIds } from '../events/task.js';
import type { InstanceView } from '../projections/instance-view.js';
import { isTerminal } from '../projections/instance-view.js';
import type { RetryPolicy } from './job-spec.js';
import { retryDelayMs, shouldRetry } from '../schedule/retry.js';
import type { CommandOf } from './commands.js';
import type { Decision } from './job-decider.js';

/** Cancel: stops an instance for good; a late report from its worker will be refused. */
export function decideCancel(
  command: CommandOf<'CancelInstance'>,
  state: InstanceView | undefined,
  ctx: EventContext,
): Decision<InstanceEvent> {
  const { instanceId, reason } = command.data;
  if (!state) throw new NotFoundError('instance', instanceId);
  if (isTerminal(state.status)) {
    throw new RejectedError(`instance ${instanceId} is already ${state.status}`);
  }
  const ev = causedBy(command, ctx);
  return {
    events: [
      makeEvent(
        'InstanceCancelled',
        { instanceId, ...(reason && { reason }) },
        ev,
        msgIds.cancelled(instanceId),
      ),
    ],
    reply: { instanceId, cancelled: true, wasStatus: state.status },
  };
}

/**
 * After an attempt ended without success: schedule the next attempt, or fail for good.
 * Pure: the random source for jitter is an input.
 */
export function decideAfterAttempt(
  state: InstanceView,
  policy: RetryPolicy,
  ctx: EventContext,
  random: () => number,
): InstanceEvent | undefined {
  if (state.status !== 'attempt-ended' || !state.endReason) return undefined;
  const { instanceId, attempt } = state;
  if (shouldRetry(policy, attempt)) {
    const dueAtMs = ctx.nowMs + retryDelayMs(policy, attempt, random);
    return makeEvent(
      'InstanceRetryScheduled',
      { instanceId, attempt: attempt + 1, dueAtMs, reason: state.endReason },
      ctx,
      msgIds.retry(instanceId, attempt + 1),
    );
  }
  return makeEvent(
    'InstanceFailed',
    { instanceId, attempt, reason: state.endReason, ...(state.error && { error: state.error }) },
    ctx,
    msgIds.failed(instanceId),
  );
}

/** The instant the running attempt times out, if it can. */
export function attemptDeadlineMs(state: InstanceView): number | undefined {
  if (
    state.status !== 'running' ||
    state.timeoutMs === undefined ||
    state.attemptStartedAtMs === undefined
  )
    return undefined;
  return state.attemptStartedAtMs + state.timeoutMs;
}

/** A running attempt past its deadline is timed out. */
export function decideTimeout(state: InstanceView, ctx: EventContext): InstanceEvent | undefined {
  const deadline = attemptDeadlineMs(state);
  if (deadline === undefined || ctx.nowMs < deadline || state.timeoutMs === undefined)
    return undefined;
  return makeEvent(
    'InstanceTimedOut',
    { instanceId: state.instanceId, attempt: state.attempt, timeoutMs: state.timeoutMs },
    ctx,
    msgIds.timeout(state.instanceId, state.attempt),
  );
}
