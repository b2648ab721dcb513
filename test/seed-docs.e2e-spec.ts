import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startApiProcess, type ApiProcess } from '@engram/testing';

/**
 * docs/seeds shows each seed memory system's operations done on Engram, with examples that readers paste into a
 * terminal. This suite makes "runnable" true: it starts Engram exactly as the pages' `bash server` blocks say (the
 * built API, embedded store in a temporary DATA_DIR), runs every `bash runnable` / `js runnable` block of a page in
 * page order in one bash (so a variable one block sets is there for the next, as in the reader's terminal), and
 * compares what each block printed with the `json output` / `text output` block that follows it on the page.
 *
 * Two departures from the reader's setup, both for speed and determinism: `EMBEDDINGS_PROVIDER=hash` (the pages'
 * examples never depend on the local model's ranking), and free ports instead of 8080/8081 (other test runs share
 * this machine), the pages' URLs being rewritten to them.
 */

const ROOT = join(import.meta.dirname, '..');
const SEEDS_DIR = join(ROOT, 'docs', 'seeds');
const INDEX = 'README.md';
/** The five seed systems the project's issues name; each has its page. */
const EXPECTED_PAGES = ['beam-me-prompty.md', 'daydreams.md', 'luminescent.md', 'mem0.md', 'remember-recall.md'];
const DOCS_HOST = 'http://127.0.0.1';
const PAGE_TIMEOUT_MS = 20_000;

interface Fence {
  /** The info string's words: `bash runnable` → ['bash', 'runnable']. */
  words: string[];
  body: string;
  /** 1-based line of the opening fence, for messages that point at the page. */
  line: number;
}

interface Step {
  kind: 'bash' | 'js';
  fence: Fence;
  expected?: { kind: 'json' | 'text'; fence: Fence };
}

interface ServerCommand {
  /** The port the page gives it (PORT=..., else 8080): how the examples address it. */
  docsPort: number;
  env: Record<string, string>;
  text: string;
}

function readPage(name: string): string {
  return readFileSync(join(SEEDS_DIR, name), 'utf8');
}

/** Fenced blocks (``` only; the pages nest none). */
function fencesOf(markdown: string): Fence[] {
  const fences: Fence[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`unclosed fence at line ${start + 1}`);
    fences.push({ words: open[1].trim().split(/\s+/).filter(Boolean), body: body.join('\n'), line: start + 1 });
  }
  return fences;
}

/** The runnable blocks in page order, each with the output block right after it (if any). */
function stepsOf(markdown: string): Step[] {
  const fences = fencesOf(markdown);
  const steps: Step[] = [];
  fences.forEach((fence, index) => {
    if (!fence.words.includes('runnable')) return;
    const kind = fence.words[0];
    if (kind !== 'bash' && kind !== 'js') throw new Error(`line ${fence.line}: runnable blocks are bash or js`);
    const next = fences[index + 1];
    const step: Step = { kind, fence };
    if (next?.words[1] === 'output') {
      const between = markdown.split('\n').slice(fence.line + fence.body.split('\n').length + 1, next.line - 1);
      if (between.every((l) => l.trim() === '')) {
        if (next.words[0] !== 'json' && next.words[0] !== 'text') {
          throw new Error(`line ${next.line}: output blocks are json or text`);
        }
        step.expected = { kind: next.words[0], fence: next };
      }
    }
    steps.push(step);
  });
  return steps;
}

/** `A=1 B=2 npm start` → {A: '1', B: '2'}. Values are plain words: the pages quote nothing there. */
function serverCommandOf(fence: Fence): ServerCommand {
  const text = fence.body.trim();
  const match = /^((?:[A-Z_][A-Z0-9_]*=\S+\s+)*)npm start$/.exec(text);
  if (!match) throw new Error(`line ${fence.line}: a server block is one "VAR=value ... npm start" line: ${text}`);
  const env: Record<string, string> = {};
  for (const assignment of match[1].trim().split(/\s+/).filter(Boolean)) {
    const at = assignment.indexOf('=');
    env[assignment.slice(0, at)] = assignment.slice(at + 1);
  }
  return { docsPort: Number(env['PORT'] ?? 8080), env, text };
}

/**
 * Every `curl` of a block must fail on a non-2xx (`-f` / `--fail`), or print the status it got (`-w '%{http_code}'`,
 * for the examples of a refusal, whose output block then names the status): that is how a block proves its responses.
 */
function uncheckedCurls(script: string): string[] {
  const joined = script.replace(/\\\n/g, ' ');
  const calls = joined.match(/\bcurl\b[^|;&)\n]*/g) ?? [];
  return calls.filter((call) => !/\s(-[a-zA-Z]*f[a-zA-Z]*|--fail)(\s|$)/.test(call) && !call.includes('%{http_code}'));
}

/** A run of JSON values, as a block of several curls prints them (curl adds no newline between them). */
function parseJsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    const start = i;
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      let inString = false;
      for (; i < text.length; i++) {
        const c = text[i];
        if (inString) {
          if (c === '\\') i++;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) break;
        }
      }
      i++;
    } else {
      while (i < text.length && !/\s/.test(text[i])) i++;
    }
    values.push(JSON.parse(text.slice(start, i)));
  }
  return values;
}

/**
 * Where `actual` departs from what the page shows: every key shown is there (more may be), arrays as long as shown,
 * literals equal; a string with `…` stands for any string, and any number for any number (ids, times and scores
 * change from run to run).
 */
function shapeMismatches(expected: unknown, actual: unknown, path = '$'): string[] {
  if (typeof expected === 'string' && expected.includes('…')) {
    return typeof actual === 'string' ? [] : [`${path}: expected a string, got ${JSON.stringify(actual)}`];
  }
  if (typeof expected === 'number') {
    return typeof actual === 'number' ? [] : [`${path}: expected a number, got ${JSON.stringify(actual)}`];
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: expected an array, got ${JSON.stringify(actual)}`];
    if (actual.length !== expected.length) {
      return [`${path}: expected ${expected.length} items, got ${actual.length}: ${JSON.stringify(actual)}`];
    }
    return expected.flatMap((item, k) => shapeMismatches(item, actual[k], `${path}[${k}]`));
  }
  if (typeof expected === 'object' && expected !== null) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) {
      return [`${path}: expected an object, got ${JSON.stringify(actual)}`];
    }
    const record = actual as Record<string, unknown>;
    return Object.entries(expected).flatMap(([key, value]) =>
      key in record ? shapeMismatches(value, record[key], `${path}.${key}`) : [`${path}: no key "${key}"`],
    );
  }
  return expected === actual ? [] : [`${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

interface BashResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<BashResult> {
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), PAGE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('docs/seeds: one page per seed memory system, every example run', () => {
  const index = readPage(INDEX);
  const pages = EXPECTED_PAGES.map((name) => ({ name, text: readPage(name) }));
  const servers = new Map<number, { command: ServerCommand; process?: ApiProcess; port: number }>();
  let workDir: string;

  /** The page's URLs, pointed at the servers this suite started. */
  function rewrite(text: string): string {
    let out = text;
    for (const [docsPort, server] of servers) {
      out = out.replaceAll(`${DOCS_HOST}:${docsPort}`, `${DOCS_HOST}:${server.port}`);
    }
    return out;
  }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'engram-seed-docs-'));
    for (const { text } of [{ text: index }, ...pages]) {
      for (const fence of fencesOf(text).filter((f) => f.words[0] === 'bash' && f.words[1] === 'server')) {
        const command = serverCommandOf(fence);
        const known = servers.get(command.docsPort);
        if (known && known.command.text !== command.text) {
          throw new Error(`two different server commands for port ${command.docsPort}:\n${known.command.text}`);
        }
        if (!known) servers.set(command.docsPort, { command, port: await freePort() });
      }
    }
    // Ports are picked up front (not PORT=0) so that the HTTP-provider server's MEMORY_HTTP_URL can name the main
    // server before it listens: both boot at once, which halves the wait (it reaches the main one per request only).
    await Promise.all(
      [...servers.values()].map(async (server) => {
        const env = Object.fromEntries(Object.entries(server.command.env).map(([key, value]) => [key, rewrite(value)]));
        const dataDir = join(workDir, `data-${server.command.docsPort}`);
        await mkdir(dataDir);
        server.process = await startApiProcess({
          ...env,
          PORT: String(server.port),
          DATA_DIR: dataDir,
          EMBEDDINGS_PROVIDER: 'hash',
          LOG_LEVEL: 'silent',
        });
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...servers.values()].map((s) => s.process?.stop()));
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('has the index, which links every page, and the README links the index from its mapping section', () => {
    const linked = [...index.matchAll(/\]\(\.\/([a-z0-9-]+\.md)\)/g)].map((m) => m[1]);
    expect([...new Set(linked)].sort()).toEqual(EXPECTED_PAGES);
    const onDisk = readdirSync(SEEDS_DIR).filter((f) => f.endsWith('.md') && f !== INDEX);
    expect(onDisk.sort()).toEqual(EXPECTED_PAGES);

    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const mapping = readme.slice(readme.indexOf('## From the memory APIs you know'));
    expect(mapping.slice(0, mapping.indexOf('\n## ', 5))).toContain('(docs/seeds/README.md)');
  });

  it('starts the servers the pages describe: the main one, and the one on the HTTP provider', () => {
    expect([...servers.keys()].sort()).toEqual([8080, 8081]);
    expect(servers.get(8081)?.command.env['MEMORY_PROVIDER']).toBe('http');
  });

  it('shows the sources file the server is started with', async () => {
    const shown = pages
      .flatMap((p) => fencesOf(p.text))
      .filter((f) => f.words.includes('file=docs/seeds/sources.json'));
    expect(shown.length).toBeGreaterThan(0);
    const onDisk = JSON.parse(await readFile(join(SEEDS_DIR, 'sources.json'), 'utf8'));
    for (const fence of shown) expect(JSON.parse(fence.body)).toEqual(onDisk);
    expect(servers.get(8080)?.command.env['MEMORY_SOURCES_FILE']).toBe('docs/seeds/sources.json');
  });

  it.each(EXPECTED_PAGES)('%s: every runnable example exits 0 and prints what the page shows', async (name) => {
    const page = pages.find((p) => p.name === name)!;
    const steps = stepsOf(page.text);
    expect(steps.length).toBeGreaterThanOrEqual(4);

    const stateDir = join(workDir, name.replace(/\.md$/, ''));
    await mkdir(stateDir);
    const script = ['set -euo pipefail'];
    for (const [n, step] of steps.entries()) {
      const body = rewrite(step.fence.body);
      for (const port of servers.keys()) {
        expect({ line: step.fence.line, unrewritten: body.includes(`:${port}`) }).toEqual({
          line: step.fence.line,
          unrewritten: false,
        });
      }
      script.push(`echo ${n} > "${stateDir}/current"`);
      if (step.kind === 'bash') {
        expect({ line: step.fence.line, uncheckedCurls: uncheckedCurls(body) }).toEqual({
          line: step.fence.line,
          uncheckedCurls: [],
        });
        if (body.includes('%{http_code}'))
          expect({ line: step.fence.line, shown: step.expected?.kind }).toEqual({
            line: step.fence.line,
            shown: 'text',
          });
        script.push(`{\n${body}\n} > "${stateDir}/${n}.out"`);
      } else {
        // A module of its own, resolved from the repository (where `mem0ai` is installed), as `node example.mjs`.
        await writeFile(join(stateDir, `${n}.mjs`), body);
        script.push(
          `(cd "${ROOT}" && node --input-type=module -e "$(cat "${stateDir}/${n}.mjs")") > "${stateDir}/${n}.out"`,
        );
      }
    }

    const result = await runBash(script.join('\n'), workDir, {
      PATH: `${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
      HOME: process.env['HOME'] ?? '',
      MEM0_TELEMETRY: 'false',
    });
    if (result.code !== 0) {
      const failed = Number((await readFile(join(stateDir, 'current'), 'utf8').catch(() => '-1')).trim());
      const output = await readFile(join(stateDir, `${failed}.out`), 'utf8').catch(() => '');
      throw new Error(
        `${name}: the example at line ${steps[failed]?.fence.line} exited ${result.code}` +
          (result.code === 22 ? ' (curl -f: the server answered an error status)' : '') +
          '\n' +
          `stderr: ${result.stderr}\nstdout: ${output}`,
      );
    }

    let checked = 0;
    for (const [n, step] of steps.entries()) {
      if (!step.expected) continue;
      const printed = await readFile(join(stateDir, `${n}.out`), 'utf8');
      const where = `${name}, example at line ${step.fence.line}`;
      if (step.expected.kind === 'text') {
        expect({ where, printed: printed.trim() }).toEqual({
          where,
          printed: rewrite(step.expected.fence.body).trim(),
        });
      } else {
        const expected = parseJsonValues(rewrite(step.expected.fence.body));
        const actual = parseJsonValues(printed);
        const problems =
          actual.length === expected.length
            ? expected.flatMap((value, k) => shapeMismatches(value, actual[k], `$${k}`))
            : [`printed ${actual.length} JSON values, the page shows ${expected.length}: ${printed}`];
        expect({ where, problems }).toEqual({ where, problems: [] });
      }
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });
});
