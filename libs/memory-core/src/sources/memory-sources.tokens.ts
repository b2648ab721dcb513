/** The declared memory sources (`MemorySources`), loaded once from MEMORY_SOURCES_FILE by the composition root. */
export const MEMORY_SOURCES = Symbol('MEMORY_SOURCES');
