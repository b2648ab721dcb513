export * from './principal.js';
export * from './authenticator.js';
export * from './request-context.js';
export * from './access-rule.decorator.js';
export * from './request-signature.js';
export * from './signature-replay.guard.js';
