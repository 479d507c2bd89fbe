import { performance } from 'node:perf_hooks';
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import type { Ownership } from './ownership.js';
import { desiredPartitions } from './rendezvous.js';
import { isWrongLastSequence } from '../../events/event-store.js';

export interface LeaseOwnershipOptions {
  schedulerId: string;
  partitions: number;
  heartbeats: KV;
  leases: KV;
  log: Logger;
  /** How often to beat and renew leases, ms. Default 1000. */
  heartbeatMs?: number;
  /**
   * How long a lease lives without renewal, ms: the lease bucket's TTL (`Buckets.ttls.leaseMs`). A
   * lease is trusted for this long after its renewal began, less `safetyMarginMs`. Default 3000.
   */
  leaseTtlMs?: number;
  /** A lease is trusted for TTL minus this margin after the renewal began. Default 500 ms. */
  safetyMarginMs?: number;
  /** What the heartbeat says besides the id. */
  describe?: () => Record<string, unknown>;
  /**
   * How often the members are listed again from the heartbeat bucket, besides watching it, ms; and
   * always after a pause longer than the lease TTL. Default 30_000.
   */
  relistMembersEveryMs?: number;
}

interface Held {
  revision: number;
  /** Monotonic deadline (performance.now()) until which this lease is trusted. */
  validUntil: number;
}

const leaseKey = (p: number) => `p.${p}`;
const memberKey = (id: string) => `scheduler.${id}`;

/**
 * Partition ownership by leases in KV: one key per partition, taken with create-if-absent,
 * renewed with update-at-revision, released on graceful stop, expiring by the bucket's TTL.
 * Which partitions to want is decided by rendezvous hashing over the live schedulers' heartbeats.
 * Leases decide who works; they never decide safety (appends are sequence-checked), but a
 * replica whose lease may have lapsed (a long pause) stops acting at once.
 */
export function createLeaseOwnership(opts: LeaseOwnershipOptions): Ownership & {
  members(): string[];
  holds(partition: number): boolean;
} {
  const { schedulerId, partitions, heartbeats, leases, log } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const ttlMs = opts.leaseTtlMs ?? 3000;
  const margin = opts.safetyMarginMs ?? 500;
  const relistEveryMs = opts.relistMembersEveryMs ?? 30_000;
  /** When the members were last listed, and when the last tick began (performance.now()). */
  let listedAt = performance.now();
  let lastTickAt = performance.now();
  let relisting = false;
  const held = new Map<number, Held>();
  /** Our last revision of leases we dropped because they may have lapsed. */
  const lapsed = new Map<number, number>();
  const members = new Set<string>([schedulerId]);
  const listeners = new Set<(owned: ReadonlySet<number>) => void>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> | undefined;
  const watchers: { stop(): void }[] = [];
  const enc = (v: unknown) => JSON.stringify(v);

  function owned(): ReadonlySet<number> {
    return new Set(held.keys());
  }
  function notify(): void {
    const now = owned();
    for (const l of listeners) l(now);
  }
  function drop(p: number, why: string): void {
    const h = held.get(p);
    if (h && held.delete(p)) {
      lapsed.set(p, h.revision);
      log.warn({ partition: p, why }, 'partition dropped');
      notify();
    }
  }

  async function beat(): Promise<void> {
    await heartbeats.put(
      memberKey(schedulerId),
      enc({
        kind: 'scheduler',
        id: schedulerId,
        atMs: Date.now(),
        partitions: [...held.keys()],
        ...opts.describe?.(),
      }),
    );
  }

  async function tick(): Promise<void> {
    const startedAt = performance.now();
    // A pause longer than the margin means leases may have lapsed under us: stop acting first.
    for (const [p, h] of held)
      if (startedAt >= h.validUntil) drop(p, 'lease may have expired (process paused or slow)');
    await beat().catch((err: unknown) => log.error({ err }, 'heartbeat failed'));
    const paused = startedAt - lastTickAt > ttlMs;
    lastTickAt = startedAt;
    // Listed aside: a listing that waits (an election) must not hold up the renewals below.
    if (!relisting && (paused || startedAt - listedAt >= relistEveryMs)) {
      relisting = true;
      void relistMembers()
        .then((left) => left && kick())
        .catch((err: unknown) => log.warn({ err }, 'listing members failed'))
        .finally(() => (relisting = false));
    }
    const want = desiredPartitions(members, schedulerId, partitions);
    let changed = false;
    await Promise.all(
      [...held].map(async ([p, h]) => {
        if (!want.has(p)) {
          // Someone else should own it and is alive: hand it over.
          try {
            await leases.delete(leaseKey(p), { previousSeq: h.revision });
          } catch (err) {
            log.debug({ err, partition: p }, 'lease release refused (already gone)');
          }
          held.delete(p);
          changed = true;
          log.info({ partition: p }, 'partition released to its rendezvous owner');
          return;
        }
        try {
          const revision = await leases.update(
            leaseKey(p),
            enc({ owner: schedulerId, atMs: Date.now() }),
            h.revision,
          );
          held.set(p, { revision, validUntil: startedAt + ttlMs - margin });
        } catch (err) {
          if (isWrongLastSequence(err)) {
            held.delete(p);
            changed = true;
            log.warn(
              { partition: p },
              'lease renewal refused: another scheduler holds the partition',
            );
          } else {
            // No answer (e.g. the bucket's leader is being re-elected): keep acting while the lease
            // is still valid; `holds()` turns false by itself once it may have expired.
            log.warn(
              { partition: p, err: (err as Error).message },
              'lease renewal failed; retrying',
            );
          }
        }
      }),
    );
    for (const p of want) if (!held.has(p) && (await tryAcquire(p, startedAt))) changed = true;
    if (changed) notify();
  }

  async function tryAcquire(p: number, startedAt = performance.now()): Promise<boolean> {
    const value = enc({ owner: schedulerId, atMs: Date.now() });
    const previous = lapsed.get(p);
    lapsed.delete(p);
    try {
      // A lease we stopped trusting (renewals got no answer) may still be ours: if nobody wrote
      // it since, renewing at our last revision takes it back without waiting for it to expire.
      const revision =
        previous !== undefined
          ? await leases
              .update(leaseKey(p), value, previous)
              .catch(() => leases.create(leaseKey(p), value))
          : await leases.create(leaseKey(p), value);
      held.set(p, { revision, validUntil: startedAt + ttlMs - margin });
      log.info({ partition: p }, 'partition acquired');
      return true;
    } catch {
      return false; // held by someone else until it expires or is released
    }
  }

  /** Ticks never overlap: two renewals of one lease at the same revision would lose it. */
  function runTick(): Promise<void> {
    ticking = (ticking ?? Promise.resolve())
      .then(() => (running ? tick() : undefined))
      .catch((err: unknown) => log.error({ err }, 'ownership tick failed'));
    return ticking;
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => void runTick().finally(schedule), heartbeatMs);
  }

  /**
   * The watch learns that a member left from the marker its heartbeat's expiry leaves, which lives
   * a second. A watch that misses it (this process paused past it, or its consumer was made again
   * after it) would keep a dead member forever, and nobody would take the partitions rendezvous
   * hashing gives it. So the members are listed again now and then: one listed before and absent
   * now has left. Joins are left to the watch (every live member's beat comes through it each
   * second), and a member the watch added or removed meanwhile is left as the watch has it. True
   * when a member was found gone.
   */
  async function relistMembers(): Promise<boolean> {
    listedAt = performance.now(); // a failed listing is tried again at the next interval
    const before = new Set(members);
    const listed = new Set<string>();
    for await (const key of await heartbeats.keys('scheduler.*'))
      listed.add(key.slice('scheduler.'.length));
    let left = false;
    for (const id of before)
      if (id !== schedulerId && !listed.has(id) && members.delete(id)) {
        left = true;
        log.info({ member: id }, 'scheduler left (its heartbeat is gone; found by listing)');
      }
    return left;
  }

  async function watchMembers(): Promise<void> {
    for await (const key of await heartbeats.keys('scheduler.*'))
      members.add(key.slice('scheduler.'.length));
    const it = await heartbeats.watch({ key: 'scheduler.*' });
    watchers.push(it);
    void (async () => {
      for await (const e of it) onMember(e);
    })().catch((err: unknown) => log.error({ err }, 'member watch ended'));
  }
  function onMember(e: KvWatchEntry): void {
    const id = e.key.slice('scheduler.'.length);
    if (id === schedulerId) return;
    if (e.operation === 'PUT') {
      if (!members.has(id)) {
        members.add(id);
        log.info({ member: id }, 'scheduler joined');
      }
    } else if (members.delete(id)) {
      log.info({ member: id }, 'scheduler left (heartbeat expired or stopped)');
      kick();
    }
  }

  async function watchLeases(): Promise<void> {
    const it = await leases.watch({ key: 'p.*' });
    watchers.push(it);
    void (async () => {
      for await (const e of it) {
        if (e.operation === 'PUT') continue;
        // A lease expired or was released: take it now if we are its rendezvous owner.
        const p = Number(e.key.slice(2));
        if (!running || held.has(p) || !desiredPartitions(members, schedulerId, partitions).has(p))
          continue;
        kick();
      }
    })().catch((err: unknown) => log.error({ err }, 'lease watch ended'));
  }

  /** Runs a tick now (after a membership change) instead of waiting for the next beat. */
  function kick(): void {
    if (running) void runTick();
  }

  return {
    owned,
    holds(p) {
      const h = held.get(p);
      return h !== undefined && performance.now() < h.validUntil;
    },
    members: () => [...members],
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async start() {
      running = true;
      await watchMembers();
      await beat();
      await runTick();
      await watchLeases();
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await ticking?.catch(() => undefined);
      for (const w of watchers) w.stop();
      await Promise.all(
        [...held].map(([p, h]) =>
          leases.delete(leaseKey(p), { previousSeq: h.revision }).catch(() => undefined),
        ),
      );
      held.clear();
      await heartbeats.delete(memberKey(schedulerId)).catch(() => undefined);
      notify();
    },
  };
}
