/** DI tokens of the cloud edition's own services (the core's extension points keep their core tokens). */
export const CLOUD_DATABASE = Symbol('CLOUD_DATABASE');
export const TENANT_REPOSITORY = Symbol('TENANT_REPOSITORY');
export const TENANTS_SERVICE = Symbol('TENANTS_SERVICE');
export const KEY_USAGE_RECORDER = Symbol('KEY_USAGE_RECORDER');
