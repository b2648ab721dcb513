export * from './http.memory-provider.js';
export * from './engram-http.memory-provider.js';
export * from './mem0-http.memory-provider.js';
export * from './mem0-http.client.js';
export type { HttpMemoryProviderOptions, RemoteTenant } from './remote-tenants.js';
export { filterJsonOf } from './engram.mapper.js';
export { mem0FilterOf, mem0FiltersOf } from './mem0.mapper.js';
