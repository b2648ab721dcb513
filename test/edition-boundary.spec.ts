import { describe, expect, it } from '@jest/globals';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * The core never imports the cloud edition: only `apps/<app>/src/edition.ts` may. Scans every
 * TypeScript file of apps/ and libs/ for an import (static or dynamic) that reaches into ee/.
 */
const root = join(import.meta.dirname, '..');
const EE_IMPORT = /(?:from\s+|import\s*\(\s*)['"]([^'"]*(?:\/ee\/|^ee\/|@engram\/cloud)[^'"]*|\.\.\/(?:\.\.\/)*ee(?:\/[^'"]*)?)['"]/g;

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

function eeImports(source: string): string[] {
  return [...source.matchAll(EE_IMPORT)].map((match) => match[1]);
}

describe('the edition boundary', () => {
  it('recognises the imports it must refuse', () => {
    expect(eeImports(`import { CloudModule } from '../../ee/cloud/src/cloud.module.js';`)).toHaveLength(1);
    expect(eeImports(`const m = await import('@engram/cloud');`)).toHaveLength(1);
    expect(eeImports(`import { x } from '@engram/memory-core';`)).toHaveLength(0);
  });

  it('lets nothing in apps/ or libs/ import ee/ except apps/*/src/edition.ts', async () => {
    const offenders: string[] = [];
    for (const top of ['apps', 'libs']) {
      for await (const file of tsFiles(join(root, top))) {
        const path = relative(root, file);
        if (/^apps\/[^/]+\/src\/edition\.ts$/.test(path)) continue;
        for (const target of eeImports(await readFile(file, 'utf8'))) offenders.push(`${path} → ${target}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
