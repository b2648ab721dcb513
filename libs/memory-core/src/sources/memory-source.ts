import { z } from 'zod';
import type { SearchMode } from '../memory.js';

/**
 * A named memory source: a namespace an agent's memories are kept in, declared with what its memories are for and
 * how they behave by default (the seeds' "cache", "persistent" and "vectors" memories).
 *
 * A namespace needs no declaration: undeclared ones keep working as free-form namespaces, with no expiry and the
 * service's default search mode.
 */
export interface MemorySource {
  name: string;
  description: string;
  /** An add into the source without `expiresAt` expires this long after it is stored; null: never. */
  defaultTtlSeconds: number | null;
  /** The mode of a search in the source that names none. */
  defaultSearchMode: SearchMode;
}

/**
 * The namespace rule of the HTTP API (`namespaceName` in apps/api's memory DTO): the core itself only asks for a
 * non-empty string, but a source whose name the API refuses could never be written to or searched, so a declared
 * name is held to the API's rule.
 */
export const MEMORY_SOURCE_NAME = /^[A-Za-z0-9._:-]{1,100}$/;

/** Ten years: beyond it a TTL is a typo (milliseconds for seconds), and `Date` arithmetic stays exact. */
export const MEMORY_SOURCE_TTL_MAX_SECONDS = 10 * 365 * 24 * 60 * 60;

const sourceSchema = z.strictObject({
  name: z.string().regex(MEMORY_SOURCE_NAME, 'must be 1-100 letters, digits or . _ : -'),
  description: z.string().trim().min(1, 'must not be empty').max(1000),
  default_ttl_seconds: z.number().int().positive().max(MEMORY_SOURCE_TTL_MAX_SECONDS).nullable().optional(),
  default_search_mode: z.enum(['hybrid', 'vector', 'keyword']).optional(),
});

/** The sources file (MEMORY_SOURCES_FILE), as its users write it: snake_case, like the API. */
export const memorySourcesFileSchema = z.strictObject({
  sources: z.array(sourceSchema).superRefine((sources, ctx) => {
    const seen = new Set<string>();
    sources.forEach((source, index) => {
      if (seen.has(source.name)) {
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `declares ${source.name} twice` });
      }
      seen.add(source.name);
    });
  }),
});

export type MemorySourcesFile = z.input<typeof memorySourcesFileSchema>;

/** The file's entries as the core uses them, defaults filled in. */
export function memorySourcesOf(file: z.output<typeof memorySourcesFileSchema>): MemorySource[] {
  return file.sources.map((source) => ({
    name: source.name,
    description: source.description,
    defaultTtlSeconds: source.default_ttl_seconds ?? null,
    defaultSearchMode: source.default_search_mode ?? 'hybrid',
  }));
}
