import { describe } from 'vitest';
import { useNatsCluster } from '../support/nats.js';
import { eventStoreSuite } from './event-store-suite.js';

const cluster = useNatsCluster();

describe('event store on a 3-node JetStream cluster (replicas 3)', () => {
  eventStoreSuite(() => cluster.url, 3);
});
