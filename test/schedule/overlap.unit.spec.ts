import { describe, expect, it } from 'vitest';
import { decideOverlap } from '../../src/schedule/index.js';

describe('overlap decisions', () => {
  describe('allow', () => {
    it('starts alongside running instances when no limit is set', () => {
      expect(decideOverlap({ policy: 'allow', running: 7, buffered: 0 })).toBe('start');
    });

    it('starts while running instances are below maxConcurrent', () => {
      expect(decideOverlap({ policy: 'allow', maxConcurrent: 3, running: 2, buffered: 0 })).toBe(
        'start',
      );
    });

    it('skips (and the caller records the skip) once maxConcurrent instances run', () => {
      expect(decideOverlap({ policy: 'allow', maxConcurrent: 3, running: 3, buffered: 0 })).toBe(
        'skip',
      );
    });
  });

  describe('skip', () => {
    it('starts when nothing runs', () => {
      expect(decideOverlap({ policy: 'skip', running: 0, buffered: 0 })).toBe('start');
    });

    it('skips while an instance runs', () => {
      expect(decideOverlap({ policy: 'skip', running: 1, buffered: 0 })).toBe('skip');
    });
  });

  describe('buffer-one', () => {
    it('starts when nothing runs', () => {
      expect(decideOverlap({ policy: 'buffer-one', running: 0, buffered: 0 })).toBe('start');
    });

    it('buffers the first fire that arrives while an instance runs', () => {
      expect(decideOverlap({ policy: 'buffer-one', running: 1, buffered: 0 })).toBe('buffer');
    });

    it('skips further fires while one is already buffered', () => {
      expect(decideOverlap({ policy: 'buffer-one', running: 1, buffered: 1 })).toBe('skip');
    });
  });

  describe('cancel-previous', () => {
    it('cancels the running instance, then starts', () => {
      expect(decideOverlap({ policy: 'cancel-previous', running: 1, buffered: 0 })).toBe(
        'cancel-previous-then-start',
      );
    });

    it('just starts when nothing runs', () => {
      expect(decideOverlap({ policy: 'cancel-previous', running: 0, buffered: 0 })).toBe('start');
    });
  });
});
