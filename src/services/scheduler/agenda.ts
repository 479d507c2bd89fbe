/**
 * When each key (a job or an instance) next needs attention: a binary min-heap with lazy
 * deletion. `set` replaces a key's time; `popDue(now)` returns the keys whose time has come.
 */
export function createAgenda() {
  const at = new Map<string, number>();
  const heap: { t: number; key: string }[] = [];

  /** Swaps two entries (without the array a destructuring swap allocates on every step). */
  function swap(a: number, b: number): void {
    const t = heap[a]!;
    heap[a] = heap[b]!;
    heap[b] = t;
  }
  function push(item: { t: number; key: string }): void {
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.t <= heap[i]!.t) break;
      swap(p, i);
      i = p;
    }
  }
  function pop(): { t: number; key: string } | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l]!.t < heap[m]!.t) m = l;
        if (r < heap.length && heap[r]!.t < heap[m]!.t) m = r;
        if (m === i) break;
        swap(m, i);
        i = m;
      }
    }
    return top;
  }
  function prune(): void {
    while (heap.length > 0 && at.get(heap[0]!.key) !== heap[0]!.t) pop();
  }

  return {
    set(key: string, t: number | undefined): void {
      if (t === undefined) {
        at.delete(key);
        return;
      }
      if (at.get(key) === t) return;
      at.set(key, t);
      push({ t, key });
    },
    get: (key: string) => at.get(key),
    /** The earliest time anything is due, if any. */
    next(): number | undefined {
      prune();
      return heap[0]?.t;
    },
    popDue(nowMs: number): string[] {
      const due: string[] = [];
      for (;;) {
        prune();
        const top = heap[0];
        if (!top || top.t > nowMs) break;
        pop();
        at.delete(top.key);
        due.push(top.key);
      }
      return due;
    },
    get size() {
      return at.size;
    },
    clear(): void {
      at.clear();
      heap.length = 0;
    },
  };
}
export type Agenda = ReturnType<typeof createAgenda>;
