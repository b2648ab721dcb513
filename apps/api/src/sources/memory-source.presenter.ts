import type { MemorySource } from '@engram/memory-core';

/** A source as the API shows it: snake_case, like the sources file it was declared in. */
export function presentMemorySource(source: MemorySource) {
  return {
    name: source.name,
    description: source.description,
    default_ttl_seconds: source.defaultTtlSeconds,
    default_search_mode: source.defaultSearchMode,
  };
}
