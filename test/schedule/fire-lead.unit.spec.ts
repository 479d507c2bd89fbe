import { describe, expect, it } from 'vitest';
import { createFireLeads } from '../../src/schedule/fire-lead.js';

const TICK = 1_800_000_000_000; // a whole second
const TEN_S = 10_000;

/** Plans `n` jobs (`job-0` …) on the same tick of a 10 s schedule; their leads, in order. */
function crowd(leads: ReturnType<typeof createFireLeads>, n: number, tickMs = TICK): number[] {
  return Array.from({ length: n }, (_, i) => leads.plan(`job-${i}`, tickMs, TEN_S));
}

describe('fire leads', () => {
  const defaults = { baseMs: 1000, perTickMs: 0.5, maxMs: 10_000 };

  it('gives a tick alone in its second the base lead', () => {
    const leads = createFireLeads(defaults);
    expect(leads.plan('a', TICK, TEN_S)).toBe(1000);
    expect(leads.of('a')).toBe(1000);
  });

  it('fires each tick of a crowd earlier than the one planned before it', () => {
    const leads = createFireLeads(defaults);
    expect(crowd(leads, 5)).toEqual([1000, 1001, 1001, 1002, 1002]);
  });

  it('spreads 10,000 ticks of one second over the seconds before it, up to half the period', () => {
    const leads = createFireLeads(defaults);
    const got = crowd(leads, 10_000);
    expect(got[0]).toBe(1000);
    expect(got[7_998]).toBe(4999);
    expect(got[9_999]).toBe(5000); // half of the 10 s period, not 1 s + 5 s
    expect(Math.max(...got)).toBe(5000);
  });

  it('never fires earlier than maxMs', () => {
    const leads = createFireLeads({ ...defaults, maxMs: 2000 });
    expect(Math.max(...crowd(leads, 10_000))).toBe(2000);
  });

  it('keeps the base lead when the period is shorter than twice it', () => {
    const leads = createFireLeads(defaults);
    const got = Array.from({ length: 3000 }, (_, i) => leads.plan(`j${i}`, TICK, 1000));
    expect(new Set(got)).toEqual(new Set([1000]));
  });

  it('counts ticks of the same second as one crowd, and other seconds apart', () => {
    const leads = createFireLeads(defaults);
    crowd(leads, 1000, TICK + 999);
    expect(leads.plan('same-second', TICK + 10, TEN_S)).toBe(1500);
    expect(leads.plan('next-second', TICK + 1000, TEN_S)).toBe(1000);
  });

  it('keeps the lead of a tick planned again', () => {
    const leads = createFireLeads(defaults);
    crowd(leads, 100);
    expect(leads.plan('job-50', TICK, TEN_S)).toBe(1025);
    expect(leads.size).toBe(100);
  });

  it('takes a job out of its crowd when its next tick moves or it is forgotten', () => {
    const leads = createFireLeads(defaults);
    crowd(leads, 100);
    leads.plan('job-0', TICK + TEN_S, TEN_S); // fired: planned on its next tick
    leads.forget('job-1'); // paused
    expect(leads.size).toBe(99);
    expect(leads.of('job-1')).toBe(1000);
    expect(leads.plan('late-comer', TICK, TEN_S)).toBe(1049); // 98 still on the tick before it
  });

  it('fires nothing ahead when the base lead is 0', () => {
    const leads = createFireLeads({ ...defaults, baseMs: 0 });
    expect(crowd(leads, 1000)).toEqual(Array.from({ length: 1000 }, () => 0));
    expect(leads.of('job-3')).toBe(0);
    expect(leads.size).toBe(0);
  });

  it('refuses a negative or non-finite setting, naming it', () => {
    expect(() => createFireLeads({ ...defaults, perTickMs: -1 })).toThrow(/perTickMs/);
    expect(() => createFireLeads({ ...defaults, maxMs: Number.NaN })).toThrow(/maxMs/);
  });
});
