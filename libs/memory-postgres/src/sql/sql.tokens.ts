/** The Postgres backend's instrumentation (`SqlInstrumentation`); unbound, its executors run uninstrumented. */
export const SQL_INSTRUMENTATION = Symbol('SQL_INSTRUMENTATION');
