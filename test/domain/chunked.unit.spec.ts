import { describe, expect, it } from 'vitest';
import { chunked } from '../../src/domain/chunked.js';

const len = (s: string) => s.length;

describe('chunked', () => {
  it('cuts a list in order by count', () => {
    expect(chunked(['a', 'b', 'c', 'd', 'e'], 2, 100, len)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e'],
    ]);
  });

  it('cuts a list in order by the sum of the sizes, never above the limit', () => {
    expect(chunked(['aa', 'bbb', 'c', 'dddd', 'e'], 10, 5, len)).toEqual([
      ['aa', 'bbb'],
      ['c', 'dddd'],
      ['e'],
    ]);
  });

  it('puts an item larger than the limit in a chunk of its own', () => {
    expect(chunked(['a', 'xxxxxxx', 'b'], 10, 5, len)).toEqual([['a'], ['xxxxxxx'], ['b']]);
  });

  it('gives no chunk for no item', () => {
    expect(chunked([], 3, 3, len)).toEqual([]);
  });
});
