export { nextFireAfter } from './next-fire.js';
export type { FireContext } from './tick-sequence.js';
export {
  dueFires,
  DEFAULT_MISFIRE_THRESHOLD_MS,
  type DueFiresInput,
  type DuePlan,
  type PlanningSpec,
  type SkippedTicks,
} from './due-fires.js';
export { retryDelayMs, shouldRetry } from './retry.js';
export { decideOverlap, OverlapDecision, type OverlapInput } from './overlap.js';
export { createZoneClock, type ZoneClock } from './zone-clock.js';
export { InvalidScheduleError } from './errors.js';
export { parseDurationMs, formatDurationMs, durationMs } from './duration.js';
export { isValidTimeZone } from './time-zone.js';
