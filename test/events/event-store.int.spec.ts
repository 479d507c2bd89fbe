import { describe } from 'vitest';
import { useNats } from '../support/nats.js';
import { eventStoreSuite } from './event-store-suite.js';

const nats = useNats();

describe('event store on one nats-server (replicas 1)', () => {
  eventStoreSuite(() => nats.url, 1);
});
