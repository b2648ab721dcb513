export * from './http.memory-provider.js';
export * from './mem0-http.client.js';
export { mem0FilterOf, mem0FiltersOf } from './mem0.mapper.js';
