export * from './english-stemmer.js';
export * from './hybrid-fusion.js';
export * from './speaker-label.js';
