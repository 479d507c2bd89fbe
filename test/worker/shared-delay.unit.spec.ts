import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { sharedDelay } from '../../src/services/worker/shared-delay.js';

describe('a delay shared by the items added in one millisecond', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('calls each item due its delay after it was added, one timer for the items of one millisecond', () => {
    const due: string[] = [];
    const delay = sharedDelay(200, (x: string) => due.push(x));
    delay.add('a');
    delay.add('b');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1);
    delay.add('c');
    expect(vi.getTimerCount()).toBe(2);
    vi.advanceTimersByTime(198);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1);
    expect(due).toEqual(['a', 'b', 'c']);
  });

  it('does not call an item taken back from its group, nor one twice', () => {
    const due: string[] = [];
    const delay = sharedDelay(50, (x: string) => due.push(x));
    const group = delay.add('kept');
    delay.add('taken back');
    group.delete('taken back');
    vi.advanceTimersByTime(50);
    expect(due).toEqual(['kept']);
    group.delete('kept');
    vi.advanceTimersByTime(500);
    expect(due).toEqual(['kept']);
  });

  it('starts a new group once the last one was due, even within the same millisecond', () => {
    const due: string[] = [];
    const delay = sharedDelay(0, (x: string) => due.push(x));
    delay.add('first');
    vi.advanceTimersToNextTimer();
    delay.add('second');
    vi.runAllTimers();
    expect(due).toEqual(['first', 'second']);
  });

  it('still calls the others when one throws, and rethrows that error on its own', async () => {
    const due: string[] = [];
    const delay = sharedDelay(10, (x: string) => {
      if (x === 'bad') throw new Error('bad item');
      due.push(x);
    });
    const thrown: unknown[] = [];
    const onError = (err: unknown) => thrown.push(err);
    process.on('uncaughtException', onError);
    try {
      delay.add('bad');
      delay.add('good');
      vi.advanceTimersByTime(10);
      await vi.waitFor(() => expect(thrown).toHaveLength(1));
    } finally {
      process.off('uncaughtException', onError);
    }
    expect(due).toEqual(['good']);
    expect((thrown[0] as Error).message).toBe('bad item');
  });
});
