import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import {
  ConcurrencyError,
  makeEvent,
  subjects,
  ValidationError,
  type JetschedEvent,
} from '../../src/events/index.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { uniquePrefix } from '../support/nats.js';
import { countingConsumers } from '../support/consumers.js';
import { createEventStore, ReplayStalledError } from '../../src/events/event-store.js';

const log = pino({ level: 'silent' });
const ctx = (id: string) => ({ actor: { kind: 'client' as const, id }, nowMs: Date.now() });

/** The event store's guarantees, against whatever server(s) `url()` names, with `replicas`. */
export function eventStoreSuite(url: () => string, replicas: number): void {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: url() }, prefix: uniquePrefix(), replicas, log });
  });
  afterAll(async () => rt?.close());

  /** An event store over the JetStream manager it is given, its warnings pushed into `warnings`. */
  const storeWarningInto =
    (warnings: object[], opts: { replayStallMs?: number } = {}) =>
    ({ jsm }: { jsm: Runtime['jsm'] }) =>
      createEventStore({
        nc: rt.nc,
        js: rt.js,
        jsm,
        publisher: rt.publisher,
        names: rt.names,
        ...opts,
        log: pino(
          { level: 'warn' },
          { write: (line: string) => warnings.push(JSON.parse(line) as object) },
        ),
      });

  it('lets exactly one of two racing writers append at the same expected sequence, telling the other where the subject is', async () => {
    const subject = subjects.job(rt.names, 3, 'race');
    const first = await rt.store.append(
      subject,
      makeEvent('JobPaused', { jobId: 'race' }, ctx('setup')),
      { expectedLastSubjectSeq: 0 },
    );
    const results = await Promise.allSettled(
      ['writer-a', 'writer-b'].map((who) =>
        rt.store.append(subject, makeEvent('JobResumed', { jobId: 'race' }, ctx(who)), {
          expectedLastSubjectSeq: first.seq,
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason).toBeInstanceOf(ConcurrencyError);
    const { events } = await rt.store.readHistory(subject);
    expect(events.map((e) => e.event.type)).toEqual(['JobPaused', 'JobResumed']);
    expect(rejected[0]!.reason).toMatchObject({ expectedSeq: first.seq, lastSeq: events[1]!.seq });
  });

  it('stores a re-sent append with the same message id once', async () => {
    const subject = subjects.job(rt.names, 1, 'dedup');
    const event = makeEvent('JobPaused', { jobId: 'dedup' }, ctx('c'), 'pause:dedup:1');
    const a = await rt.store.append(subject, event, { expectedLastSubjectSeq: 0 });
    const b = await rt.store.append(subject, event, { expectedLastSubjectSeq: 0 }); // same expectation, as after a crash
    const c = await rt.store.append(subject, event); // and without one
    expect(a.duplicate).toBe(false);
    expect(b).toEqual({ seq: a.seq, duplicate: true });
    expect(c).toEqual({ seq: a.seq, duplicate: true });
    expect((await rt.store.readHistory(subject)).events).toHaveLength(1);
  });

  it('keeps a re-sent append without a message id (dedup off) to one copy by its expectation alone', async () => {
    const subject = subjects.job(rt.names, 1, 'fenced-only');
    const event = makeEvent('JobPaused', { jobId: 'fenced-only' }, ctx('c'), 'pause:fenced-only:1');
    const opts = { expectedLastSubjectSeq: 0, dedup: false };
    const a = await rt.store.append(subject, event, opts);
    const stored = await rt.jsm.streams.getMessage(rt.names.eventStream, { seq: a.seq });
    expect(stored?.header?.get('Nats-Msg-Id') ?? '').toBe('');
    // The copy is refused by its stale expectation and recognised by its id as the last message.
    expect(await rt.store.append(subject, event, opts)).toEqual({ seq: a.seq, duplicate: true });
    // Once the subject moved on, it is a conflict, and still not stored.
    await rt.store.append(subject, makeEvent('JobResumed', { jobId: 'fenced-only' }, ctx('c')), {
      expectedLastSubjectSeq: a.seq,
    });
    await expect(rt.store.append(subject, event, opts)).rejects.toBeInstanceOf(ConcurrencyError);
    const { events } = await rt.store.readHistory(subject);
    expect(events.map((e) => e.event.type)).toEqual(['JobPaused', 'JobResumed']);
  });

  it('rejects a malformed event naming the field, and appends nothing', async () => {
    const subject = subjects.job(rt.names, 2, 'bad');
    const bad = {
      ...makeEvent('JobPaused', { jobId: 'bad' }, ctx('c')),
      data: { jobId: 'bad', note: 42 },
    } as unknown as JetschedEvent;
    await expect(rt.store.append(subject, bad)).rejects.toThrow(ValidationError);
    await expect(rt.store.append(subject, bad)).rejects.toMatchObject({ field: 'data.note' });
    expect(await rt.store.lastSeq(subject)).toBe(0);
  });

  it('replays a filtered range by subject, sequence and time', async () => {
    const subject = subjects.job(rt.names, 5, 'ranged');
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ev = makeEvent(i % 2 ? 'JobResumed' : 'JobPaused', { jobId: 'ranged' }, ctx('c'));
      seqs.push((await rt.store.append(subject, ev)).seq);
    }
    const all = [];
    for await (const e of rt.store.replay({ filterSubjects: [subject] })) all.push(e.seq);
    expect(all).toEqual(seqs);
    const middle = [];
    for await (const e of rt.store.replay({
      filterSubjects: [subject],
      fromSeq: seqs[1],
      toSeq: seqs[3],
    }))
      middle.push(e.seq);
    expect(middle).toEqual(seqs.slice(1, 4));
    const future = [];
    for await (const e of rt.store.replay({
      filterSubjects: [subject],
      fromTimeMs: Date.now() + 60_000,
    }))
      future.push(e.seq);
    expect(future).toEqual([]);
  });

  it('scans the same range as a replay, and rejects with what its visitor throws', async () => {
    const subject = subjects.job(rt.names, 7, 'scanned');
    const seqs: number[] = [];
    for (let i = 0; i < 6; i++) {
      const ev = makeEvent(i % 2 ? 'JobResumed' : 'JobPaused', { jobId: 'scanned' }, ctx('c'));
      seqs.push((await rt.store.append(subject, ev)).seq);
    }
    const visited: number[] = [];
    const last = await rt.store.scan(
      { filterSubjects: [subject], fromSeq: seqs[1], toSeq: seqs[4] },
      (e) => visited.push(e.seq),
    );
    expect(visited).toEqual(seqs.slice(1, 5));
    expect(last).toBe(seqs[4]);
    expect(
      await rt.store.scan({ filterSubjects: [subjects.job(rt.names, 7, 'none')] }, () => {}),
    ).toBe(0);

    const seen: number[] = [];
    const scan = rt.store.scan({ filterSubjects: [subject] }, (e) => {
      if (seen.length === 2) throw new Error('fold failed');
      seen.push(e.seq);
    });
    await expect(scan).rejects.toThrow('fold failed');
    expect(seen).toEqual(seqs.slice(0, 2));
  });

  it('reads back a garbage message as undecodable rather than failing', async () => {
    const subject = subjects.job(rt.names, 6, 'garbage');
    await rt.js.publish(subject, new TextEncoder().encode('not an event'), { headers: headers() });
    const { events, undecodable } = await rt.store.readHistory(subject);
    expect(events).toEqual([]);
    expect(undecodable.map((u) => (u.decoded.ok ? 'ok' : u.decoded.reason))).toEqual(['not-json']);
  });

  it('resumes a read whose consumer stays silent, from where it stopped, says so, and gives up on one that never delivers', async () => {
    const subject = subjects.job(rt.names, 5, 'quiet');
    const seqs: number[] = [];
    for (const type of ['JobPaused', 'JobResumed', 'JobPaused'] as const)
      seqs.push(
        (await rt.store.append(subject, makeEvent(type, { jobId: 'quiet' }, ctx('q')))).seq,
      );
    const warnings: object[] = [];
    const storeOver = storeWarningInto(warnings, { replayStallMs: 300 });

    const once = countingConsumers(rt);
    const { events } = await storeOver(once).readHistory(subject);
    expect(events.map((e) => e.event.type)).toEqual(['JobPaused', 'JobResumed', 'JobPaused']);
    expect(once.requested).toHaveLength(2); // the silent one, then its replacement
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'event read: consumer replaced',
        why: 'nothing for 300 ms',
        atSeq: 1,
        endSeq: seqs[2],
      }),
    ]);

    const never = countingConsumers(rt, { silentAll: true });
    await expect(storeOver(never).readHistory(subject)).rejects.toBeInstanceOf(ReplayStalledError);
    expect(never.requested).toHaveLength(4);
  });

  it('asks again for a consumer whose request got no answer, says so, and visits each event once', async () => {
    const subject = subjects.job(rt.names, 5, 'unanswered');
    for (const type of ['JobPaused', 'JobResumed'] as const)
      await rt.store.append(subject, makeEvent(type, { jobId: 'unanswered' }, ctx('u')));
    const warnings: object[] = [];
    const storeOver = storeWarningInto(warnings);

    // Created, delivering nothing, and its answer lost: the read asks for another.
    const lost = countingConsumers(rt, { silentFirst: true, unansweredFirst: true });
    const { events } = await storeOver(lost).readHistory(subject);
    expect(events.map((e) => e.event.type)).toEqual(['JobPaused', 'JobResumed']);
    expect(lost.requested).toHaveLength(2);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'event read: consumer replaced',
        why: `JetStream did not answer in time: a consumer of ${subject} from 1`,
        atSeq: 1,
      }),
    ]);

    // Delivering while its answer is lost: what it delivered counts, and nothing twice.
    const late = countingConsumers(rt, { silentFirst: false, unansweredFirst: true });
    const again = await storeOver(late).readHistory(subject);
    expect(again.events.map((e) => e.seq)).toEqual(events.map((e) => e.seq));
  });
}
