/** DI tokens of the core. Each has an OSS default (see extension-points.ts); the cloud edition rebinds some. */
export const MEMORY_PROVIDER = Symbol('MEMORY_PROVIDER');
export const EMBEDDER = Symbol('EMBEDDER');
export const EMBEDDING_QUEUE = Symbol('EMBEDDING_QUEUE');
export const TENANT_PROVIDER = Symbol('TENANT_PROVIDER');
export const USAGE_TRACKER = Symbol('USAGE_TRACKER');
export const AUDIT_LOGGER = Symbol('AUDIT_LOGGER');
export const GDPR_SERVICE = Symbol('GDPR_SERVICE');
export const CLOCK = Symbol('CLOCK');
export const AUTHENTICATOR = Symbol('AUTHENTICATOR');
/** Key-value memory (`KeyValueProvider`): Redis when REDIS_URL is set, else in process. */
export const KEY_VALUE_PROVIDER = Symbol('KEY_VALUE_PROVIDER');
/** The observer of the core's operations (`MemoryTelemetry`); unbound, the no-op default applies. */
export const MEMORY_TELEMETRY = Symbol('MEMORY_TELEMETRY');
