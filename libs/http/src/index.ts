export * from './api-error.js';
export * from './validated.decorator.js';
export * from './zod-validation.pipe.js';
