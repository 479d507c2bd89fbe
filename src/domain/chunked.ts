/**
 * `items` in order, cut into chunks of at most `maxCount` items whose sizes (`sizeOf`) add up to
 * at most `maxSize`; an item larger than `maxSize` alone is a chunk of its own. Which chunk holds
 * which item depends on the items alone.
 */
export function chunked<T>(
  items: Iterable<T>,
  maxCount: number,
  maxSize: number,
  sizeOf: (item: T) => number,
): T[][] {
  const out: T[][] = [];
  let chunk: T[] = [];
  let size = 0;
  for (const item of items) {
    const s = sizeOf(item);
    if (chunk.length > 0 && (chunk.length === maxCount || size + s > maxSize)) {
      out.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(item);
    size += s;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}
