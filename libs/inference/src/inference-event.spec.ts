import { describeInferenceEventStoreContract } from '../test/inference-event-store.contract.js';
import { InMemoryInferenceEventStore } from './inference-event.js';

describeInferenceEventStoreContract('in memory', () =>
  Promise.resolve({ store: new InMemoryInferenceEventStore(), teardown: () => Promise.resolve() }),
);
