/** `@engram/memory-core/testing`: what other packages' tests need to hold a provider to the protocol. */
export {
  describeMemoryProviderContract,
  DEFAULT_CONTRACT_TENANTS,
  type MemoryProviderCapabilities,
  type MemoryProviderContractSetup,
  type MemoryProviderContractSubject,
} from './memory-provider.contract.js';
export { BagOfWordsEmbedder } from './fixtures/bag-of-words.embedder.js';
export { ManualClock } from './fixtures/manual.clock.js';
export {
  describeKeyValueProviderContract,
  type KeyValueProviderContractSetup,
  type KeyValueProviderContractSubject,
} from './kv/key-value-provider.contract.js';
