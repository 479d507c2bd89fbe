import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../../src/schedule/bounded-memo.js';

describe('boundedMemo', () => {
  it('computes an answer once per key, undefined answers included', () => {
    const asked: string[] = [];
    const memo = boundedMemo(10, (k: string) => {
      asked.push(k);
      return k === 'none' ? undefined : k.length;
    });
    expect([memo('abc'), memo('abc'), memo('none'), memo('none')]).toEqual([
      3,
      3,
      undefined,
      undefined,
    ]);
    expect(asked).toEqual(['abc', 'none']);
  });

  it('forgets everything when the limit is reached, and computes again', () => {
    const asked: number[] = [];
    const memo = boundedMemo(2, (k: number) => (asked.push(k), k * 2));
    memo(1);
    memo(2);
    memo(3); // the limit: 1 and 2 are forgotten
    memo(1);
    memo(3);
    expect(asked).toEqual([1, 2, 3, 1]);
  });
});
