export { compileFilter, LOWER_COLLATION } from './filter.sql-compiler.js';
export { SqlParams } from './sql-params.js';
