import { describeKeyValueProviderContract } from '../../test/kv/key-value-provider.contract.js';
import { ManualClock } from '../../test/fixtures/manual.clock.js';
import { InProcessKeyValueProvider } from './in-process.key-value-provider.js';

describeKeyValueProviderContract('InProcessKeyValueProvider', async () => {
  const clock = new ManualClock('2025-01-01T00:00:00Z');
  const provider = new InProcessKeyValueProvider(clock);
  return {
    provider,
    elapse: async (ms) => clock.advance(ms),
    teardown: () => provider.close(),
  };
});
