import type { Runtime } from '../../src/services/runtime.js';

/**
 * A JetStream client that counts the consumers asked of it. With `silentFirst`, the first one is
 * real but filtered to nothing, so it never delivers: what a consumer that went silent looks like
 * to its reader. With `silentAll`, every one is.
 */
export function countingConsumers(rt: Runtime, { silentFirst = true, silentAll = false } = {}) {
  const requested: unknown[] = [];
  const consumers = new Proxy(rt.js.consumers, {
    get(target, prop) {
      if (prop !== 'get') return Reflect.get(target, prop, target) as unknown;
      return (stream: string, opts: Parameters<typeof target.get>[1]) => {
        requested.push(opts);
        const silent =
          typeof opts === 'object' && (silentAll || (silentFirst && requested.length === 1));
        return target.get(
          stream,
          silent ? { ...opts, filter_subjects: [`${rt.names.prefix}.evt.none`] } : opts,
        );
      };
    },
  });
  const js = new Proxy(rt.js, {
    get: (target, prop) =>
      prop === 'consumers' ? consumers : (Reflect.get(target, prop, target) as unknown),
  });
  return { js, requested };
}
