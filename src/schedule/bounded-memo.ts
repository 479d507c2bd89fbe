/**
 * `compute`, remembering its answers: for answers that cost much to find and never change. At most
 * `limit` keys are kept (all are forgotten when the limit is reached), since keys may come from
 * input and anyone may send many.
 */
export function boundedMemo<K, V>(limit: number, compute: (key: K) => V): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    if (known.has(key)) return known.get(key) as V;
    const value = compute(key);
    if (known.size >= limit) known.clear();
    known.set(key, value);
    return value;
  };
}
