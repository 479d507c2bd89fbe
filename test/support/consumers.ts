import { TimeoutError } from '@nats-io/transport-node';
import type { Runtime } from '../../src/services/runtime.js';

/**
 * JetStream clients that count the consumers asked of them: ordered consumers through
 * `js.consumers.get` (projection runners), push consumers through `jsm.consumers.add` (the event
 * store's reads). With `silentFirst`, the first one is real but filtered to nothing, so it never
 * delivers: what a consumer that went silent looks like to its reader. With `silentAll`, every
 * one is. With `unansweredFirst`, the first push consumer is created but its answer is lost: the
 * request fails with the client's timeout, as when the meta leader answers too late.
 * `consuming()` counts the ordered consumers being consumed and not closed yet.
 */
export function countingConsumers(
  rt: Runtime,
  { silentFirst = true, silentAll = false, unansweredFirst = false } = {},
) {
  const requested: unknown[] = [];
  const nothing = [`${rt.names.prefix}.evt.none`];
  const silenced = <T extends object>(opts: T): T => {
    requested.push(opts);
    const silent = silentAll || (silentFirst && requested.length === 1);
    return silent ? { ...opts, filter_subjects: nothing } : opts;
  };
  const overriding = <T extends object>(target: T, prop: string, fn: unknown): T =>
    new Proxy(target, {
      get: (t, p) => (p === prop ? fn : (Reflect.get(t, p, t) as unknown)),
    });

  // Ordered consumers whose messages are being consumed and not yet closed.
  let consuming = 0;
  const getConsumer: typeof rt.js.consumers.get = async (stream, opts) => {
    const c = await rt.js.consumers.get(stream, typeof opts === 'object' ? silenced(opts) : opts);
    const consume: typeof c.consume = async (o) => {
      const messages = await c.consume(o);
      consuming++;
      void messages.closed().then(() => consuming--);
      return messages;
    };
    return overriding(c, 'consume', consume);
  };
  const js = overriding(rt.js, 'consumers', overriding(rt.js.consumers, 'get', getConsumer));

  const addConsumer: typeof rt.jsm.consumers.add = async (stream, cfg) => {
    const info = await rt.jsm.consumers.add(stream, silenced(cfg));
    if (unansweredFirst && requested.length === 1) throw new TimeoutError();
    return info;
  };
  const jsm = overriding(rt.jsm, 'consumers', overriding(rt.jsm.consumers, 'add', addConsumer));
  return { js, jsm, requested, consuming: () => consuming };
}
