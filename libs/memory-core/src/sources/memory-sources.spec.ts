import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigException } from '@engram/config';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { loadMemorySources, MemorySources } from './memory-sources.js';

describe('loadMemorySources', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'engram-sources-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function file(content: unknown): Promise<string> {
    const path = join(dir, `sources-${(n += 1)}.json`);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  /** The ConfigException's message: one line naming the file. */
  function problemOf(path: string): string {
    let caught: unknown = null;
    try {
      loadMemorySources(path);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigException);
    const message = (caught as ConfigException).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`MEMORY_SOURCES_FILE=${path}: `);
    return message;
  }

  it('should declare no source when no file is configured', () => {
    expect(loadMemorySources(undefined).list()).toEqual([]);
  });

  it('should read the sources in the order of the file, with their defaults filled in', async () => {
    const path = await file({
      sources: [
        { name: 'cache', description: 'Scratch facts', default_ttl_seconds: 3600, default_search_mode: 'keyword' },
        { name: 'persistent', description: 'What the user told us', default_ttl_seconds: null },
        { name: 'vectors', description: 'Documents', default_search_mode: 'vector' },
      ],
    });
    const sources = loadMemorySources(path);
    expect(sources.list()).toEqual([
      { name: 'cache', description: 'Scratch facts', defaultTtlSeconds: 3600, defaultSearchMode: 'keyword' },
      {
        name: 'persistent',
        description: 'What the user told us',
        defaultTtlSeconds: null,
        defaultSearchMode: 'hybrid',
      },
      { name: 'vectors', description: 'Documents', defaultTtlSeconds: null, defaultSearchMode: 'vector' },
    ]);
    expect(sources.find('cache')?.defaultTtlSeconds).toBe(3600);
    expect(sources.find('free-form')).toBeNull();
    expect(sources.find(undefined)).toBeNull();
  });

  it('should name a file that cannot be read', () => {
    expect(problemOf(join(dir, 'missing.json'))).toMatch(/cannot be read \(ENOENT\)$/);
  });

  it('should name a file that is not JSON', async () => {
    expect(problemOf(await file('{"sources": ['))).toContain('is not valid JSON');
  });

  it.each([
    ['a bad name', { sources: [{ name: 'has space', description: 'd' }] }, 'sources[0].name: must be 1-100'],
    ['an empty description', { sources: [{ name: 'a', description: '  ' }] }, 'sources[0].description: must not be'],
    ['a negative TTL', { sources: [{ name: 'a', description: 'd', default_ttl_seconds: -5 }] }, 'default_ttl_seconds'],
    [
      'a fractional TTL',
      { sources: [{ name: 'a', description: 'd', default_ttl_seconds: 1.5 }] },
      'default_ttl_seconds',
    ],
    [
      'an unknown mode',
      { sources: [{ name: 'a', description: 'd', default_search_mode: 'semantic' }] },
      'sources[0].default_search_mode',
    ],
    ['a misspelt field', { sources: [{ name: 'a', description: 'd', default_ttl: 60 }] }, 'default_ttl'],
    [
      'a name declared twice',
      {
        sources: [
          { name: 'a', description: 'd' },
          { name: 'a', description: 'e' },
        ],
      },
      'sources[1].name: declares a twice',
    ],
    ['no sources list', { source: [] }, 'sources'],
  ])('should refuse %s, naming where', async (_what, content, expected) => {
    expect(problemOf(await file(content))).toContain(expected);
  });
});

describe('MemorySources', () => {
  it('should throw SOURCE_NOT_FOUND for an undeclared name', () => {
    const sources = new MemorySources([
      { name: 'cache', description: 'd', defaultTtlSeconds: 60, defaultSearchMode: 'keyword' },
    ]);
    expect(sources.get('cache').name).toBe('cache');
    let caught: unknown = null;
    try {
      sources.get('elsewhere');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MemoryException);
    expect((caught as MemoryException).code).toBe(MemoryExceptionCode.SOURCE_NOT_FOUND);
  });

  it('should hand out copies, so that a caller cannot change the configuration', () => {
    const sources = new MemorySources([
      { name: 'a', description: 'd', defaultTtlSeconds: 60, defaultSearchMode: 'hybrid' },
    ]);
    sources.list()[0].defaultTtlSeconds = 1;
    sources.get('a').defaultSearchMode = 'vector';
    expect(sources.get('a')).toEqual({
      name: 'a',
      description: 'd',
      defaultTtlSeconds: 60,
      defaultSearchMode: 'hybrid',
    });
  });
});
