/** DI tokens of the cloud edition's own services (the core's extension points keep their core tokens). */
export const CLOUD_DATABASE = Symbol('CLOUD_DATABASE');
export const TENANT_REPOSITORY = Symbol('TENANT_REPOSITORY');
export const TENANTS_SERVICE = Symbol('TENANTS_SERVICE');
export const KEY_USAGE_RECORDER = Symbol('KEY_USAGE_RECORDER');
export const USAGE_STORE = Symbol('USAGE_STORE');
/** The cloud's UsageTracker itself (USAGE_TRACKER is bound to it), for what the core's interface does not offer. */
export const CLOUD_USAGE_TRACKER = Symbol('CLOUD_USAGE_TRACKER');
/** The cloud's GDPR erase itself (GDPR_SERVICE is bound to it), with the whole-tenant erase and the resumer's run. */
export const GDPR_ERASER = Symbol('GDPR_ERASER');
/** The stores besides the memories that an erase empties (`ErasableStore[]`): the KV store once it exists. */
export const ERASABLE_STORES = Symbol('ERASABLE_STORES');
export const EMBEDDING_CACHE_PURGER = Symbol('EMBEDDING_CACHE_PURGER');
export const ERASURE_RESUMER = Symbol('ERASURE_RESUMER');
/** The cloud's AuditLogger itself (AUDIT_LOGGER is bound to it), with `flush` and `logDurably`. */
export const AUDIT_LOG = Symbol('AUDIT_LOG');
/** Export and verification of a tenant's audit log. */
export const AUDIT_SERVICE = Symbol('AUDIT_SERVICE');
