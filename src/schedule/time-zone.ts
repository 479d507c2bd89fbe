import { boundedMemo } from './bounded-memo.js';

/**
 * True when the runtime knows the IANA time zone (e.g. "Europe/Berlin"). Remembered: building a
 * formatter to find out costs ~100 µs, and the answer never changes.
 */
export const isValidTimeZone: (tz: string) => boolean = boundedMemo(1000, (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
});
