import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * Metrics read at scrape time from counters a service already keeps (its `stats()`): nothing is
 * added to the hot paths, and a scrape costs one read of each counter.
 */
export interface Collected {
  /** A monotonic count, exposed as a Prometheus counter (`name` ends in `_total`). */
  counter(name: string, help: string, read: () => number): void;
  /** A value that goes up and down. */
  gauge(name: string, help: string, read: () => number): void;
  /** One value per label value (e.g. per partition); label values not read again are dropped. */
  gaugeBy(name: string, help: string, label: string, read: () => Iterable<[string, number]>): void;
}

export function collected(registry: Registry): Collected {
  return {
    counter(name, help, read) {
      new Counter({
        name,
        help,
        registers: [registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    },
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(read());
        },
      });
    },
    gaugeBy(name, help, label, read) {
      new Gauge({
        name,
        help,
        labelNames: [label],
        registers: [registry],
        collect() {
          this.reset();
          for (const [value, n] of read()) this.set({ [label]: value }, n);
        },
      });
    },
  };
}
