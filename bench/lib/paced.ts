/**
 * Calls `send(i)` for i in [0, count) at `rate` calls per second from now on, each once its time
 * (i / rate seconds after the first) has come; calls that fall due together are made in one turn,
 * as a busy producer makes them. Resolves once the last call was made.
 */
export function paced(count: number, rate: number, send: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  let i = 0;
  return new Promise<void>((resolve) => {
    const step = () => {
      const due = Math.min(count, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
      for (; i < due; i++) send(i);
      if (i >= count) return resolve();
      setTimeout(step, Math.max(0, (i * 1000) / rate - (performance.now() - t0)));
    };
    step();
  });
}
