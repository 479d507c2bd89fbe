/**
 * Arrays of like objects in a compact JSON form, for snapshots: the keys once, then for each
 * object a row of a bitmask (which of the keys it has) and the values of those keys. A snapshot
 * of 100,000 instance views repeats each of ~15 keys 100,000 times in the plain form; in rows
 * they are written once, so there is less to store, fetch and parse.
 */
export interface Rows {
  /** Every key any object has, sorted (so equal arrays give equal rows). */
  keys: string[];
  /** Per object: the bitmask of its keys (bit i = keys[i]), then their values in key order. */
  rows: unknown[][];
}

/** Bit i of a mask is 2^i; masks stay exact numbers up to 52 keys. */
const MAX_KEYS = 52;

export function toRows(items: readonly object[]): Rows {
  const keySet = new Set<string>();
  for (const item of items) for (const k of Object.keys(item)) keySet.add(k);
  const keys = [...keySet].sort();
  if (keys.length > MAX_KEYS)
    throw new RangeError(`rows hold objects of at most ${MAX_KEYS} keys, got ${keys.length}`);
  const rows = items.map((item) => {
    const values = item as Record<string, unknown>;
    const row: unknown[] = [0];
    let mask = 0;
    keys.forEach((key, i) => {
      const v = values[key];
      if (v === undefined) return; // as JSON would: an undefined property is no property
      mask += 2 ** i;
      row.push(v);
    });
    row[0] = mask;
    return row;
  });
  return { keys, rows };
}

export function fromRows<T>(r: Rows): T[] {
  // Most objects share a few masks: each mask's key list is worked out once.
  const keysOf = new Map<number, string[]>();
  const maskKeys = (mask: number): string[] => {
    let ks = keysOf.get(mask);
    if (ks) return ks;
    ks = r.keys.filter((_k, i) => Math.floor(mask / 2 ** i) % 2 === 1);
    keysOf.set(mask, ks);
    return ks;
  };
  return r.rows.map((row) => {
    const ks = maskKeys(row[0] as number);
    const item: Record<string, unknown> = {};
    ks.forEach((key, j) => (item[key] = row[j + 1]));
    return item as T;
  });
}
