import { readFileSync } from 'node:fs';
import { ConfigException } from '@engram/config';
import type { z } from 'zod';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { memorySourcesFileSchema, memorySourcesOf, type MemorySource } from './memory-source.js';

/**
 * The declared memory sources, by name: what `GET /v1/sources` lists and what MemoryService consults for a
 * namespace's defaults. Immutable once loaded; the configuration is read once, at boot.
 */
export class MemorySources {
  private readonly byName: ReadonlyMap<string, MemorySource>;

  constructor(sources: readonly MemorySource[] = []) {
    this.byName = new Map(sources.map((source) => [source.name, { ...source }]));
  }

  /** No source declared: every namespace is free-form. */
  static none(): MemorySources {
    return new MemorySources();
  }

  /** In the order the file declares them. */
  list(): MemorySource[] {
    return [...this.byName.values()].map((source) => ({ ...source }));
  }

  /** The source of a namespace, or null when the namespace is not declared (a free-form one). */
  find(name: string | undefined): MemorySource | null {
    const source = name === undefined ? undefined : this.byName.get(name);
    return source ? { ...source } : null;
  }

  /** Throws SOURCE_NOT_FOUND. */
  get(name: string): MemorySource {
    const source = this.find(name);
    if (!source) {
      throw new MemoryException(MemoryExceptionCode.SOURCE_NOT_FOUND, `memory source ${name} is not declared`, {
        name,
      });
    }
    return source;
  }
}

/**
 * Reads and validates the sources file (MEMORY_SOURCES_FILE) once, at boot; no file configured: no sources.
 * Synchronous, so that the composition root can load it while it is being built and a bad file stops the boot
 * before anything is served. Every problem is a ConfigException of one line naming the file and what is wrong.
 */
export function loadMemorySources(path: string | undefined): MemorySources {
  if (path === undefined) return MemorySources.none();
  const fail = (problem: string) =>
    new ConfigException(`invalid configuration: MEMORY_SOURCES_FILE=${path}: ${oneLine(problem)}`);

  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fail(`is not valid JSON (${(error as Error).message})`);
  }
  const parsed = memorySourcesFileSchema.safeParse(json);
  if (!parsed.success) throw fail(describeIssues(parsed.error));
  return new MemorySources(memorySourcesOf(parsed.data));
}

/** `sources[1].default_ttl_seconds: Too small: expected number to be >0; ...`: where, then what. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.reduce<string>(
        (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)),
        '',
      );
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}
