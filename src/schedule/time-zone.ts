/** Zones already asked about: building a formatter to find out costs ~100 µs, and the answer never changes. */
const known = new Map<string, boolean>();

/** True when the runtime knows the IANA time zone (e.g. "Europe/Berlin"). */
export function isValidTimeZone(tz: string): boolean {
  let valid = known.get(tz);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      valid = true;
    } catch {
      valid = false;
    }
    // Bounded: unknown names come from input, and anyone may send many.
    if (known.size >= 1000) known.clear();
    known.set(tz, valid);
  }
  return valid;
}
