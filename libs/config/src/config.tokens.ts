/** The validated `EngramConfig`, provided once by the app's root module. */
export const ENGRAM_CONFIG = Symbol('ENGRAM_CONFIG');
