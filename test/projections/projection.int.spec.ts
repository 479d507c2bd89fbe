import { describe } from 'vitest';
import { useNats } from '../support/nats.js';
import { projectionSuite } from './projection-suite.js';

const nats = useNats();

describe('projections on one nats-server (replicas 1)', () => {
  projectionSuite(() => nats.url, 1);
});
