export * from './telemetry.module.js';
export * from './metrics/engram-metrics.js';
export * from './metrics/observed.memory-telemetry.js';
export * from './tracing/tracing.js';
export * from './http/http-telemetry.js';
export * from './logging/structured.logger.js';
export * from './database/traced.sql-observer.js';
export * from './database/observed.sql-instrumentation.js';
