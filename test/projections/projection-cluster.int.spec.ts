import { describe } from 'vitest';
import { useNatsCluster } from '../support/nats.js';
import { projectionSuite } from './projection-suite.js';

const cluster = useNatsCluster();

describe('projections on a 3-node JetStream cluster (replicas 3)', () => {
  projectionSuite(() => cluster.url, 3);
});
