export * from './inference-engine.js';
export * from './inference-engine.factory.js';
export * from './inference-event.js';
export * from './inference.service.js';
export * from './inference.tokens.js';
export * from './llm.inference-engine.js';
export * from './postgres.inference-event-store.js';
export * from './rule-based.inference-engine.js';
