// Compiles every workspace's src/ to dist/ with swc (type checking is `npm run typecheck`).
// Runtime resolution of @engram/* goes through each workspace's package.json "exports" to dist/.
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const groups = ['libs', 'apps', 'ee'];
// Workspaces that sit directly under the root rather than in a group directory.
const standalone = ['bench'];

const swcOptions = {
  jsc: {
    target: 'es2023',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: true,
};

async function* tsFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* tsFiles(path);
    else if (entry.name.endsWith('.ts') && !/\.(spec|int-spec|e2e-spec|d)\.ts$/.test(entry.name)) yield path;
  }
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function buildWorkspace(ws) {
  const src = join(ws, 'src');
  const dist = join(ws, 'dist');
  await rm(dist, { recursive: true, force: true });
  let count = 0;
  for await (const file of tsFiles(src)) {
    const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    const { code, map } = await transformFile(file, { ...swcOptions, filename: file, sourceFileName: relative(dirname(out), file) });
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, `${code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
    if (map) await writeFile(`${out}.map`, map);
    count++;
  }
  return count;
}

const started = Date.now();
let total = 0;
for (const group of groups) {
  const base = join(root, group);
  if (!(await exists(base))) continue;
  for (const entry of await readdir(base, { withFileTypes: true })) {
    const ws = join(base, entry.name);
    if (entry.isDirectory() && (await exists(join(ws, 'src')))) total += await buildWorkspace(ws);
  }
}
for (const name of standalone) {
  const ws = join(root, name);
  if (await exists(join(ws, 'src'))) total += await buildWorkspace(ws);
}
console.log(`built ${total} files in ${Date.now() - started} ms`);
