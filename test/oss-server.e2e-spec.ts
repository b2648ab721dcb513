import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The server as `npm start` runs it: the built app in its own process, on the embedded default,
 * with the offline `local` embedder. Proves the README's promise end to end.
 */
const root = join(import.meta.dirname, '..');

interface Server {
  process: ChildProcess;
  url: string;
  output: () => string;
}

function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['apps/api/dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ process: child, url: match[1], output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

async function stop(server: Server): Promise<void> {
  if (server.process.exitCode !== null) return;
  const exited = new Promise((resolve) => server.process.once('exit', resolve));
  server.process.kill('SIGTERM');
  await exited;
}

async function call(server: Server, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('the OSS server on its embedded default', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-server-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finds a memory by a paraphrase with the local model, and keeps it across a restart', async () => {
    const env = { DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    let server = await startServer(env);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const added = await call(server, 'POST', '/v1/memories?wait=true', {
        content: 'Alice is allergic to peanuts',
        user_id: 'alice',
      });
      expect(added.status).toBe(201);
      expect(added.body.memory.status).toBe('ready');
      await call(server, 'POST', '/v1/memories?wait=true', { content: 'Alice works as a nurse in Porto', user_id: 'alice' });
      await call(server, 'POST', '/v1/memories?wait=true', { content: 'Alice drives a blue hatchback', user_id: 'alice' });

      const found = await call(server, 'POST', '/v1/memories/search', {
        query: 'which foods must she avoid?',
        user_id: 'alice',
        mode: 'vector',
      });
      expect(found.status).toBe(200);
      expect(found.body.results[0].memory.content).toBe('Alice is allergic to peanuts');
    } finally {
      await stop(server);
    }

    server = await startServer(env);
    try {
      const listed = await call(server, 'GET', '/v1/memories?user_id=alice');
      expect(listed.body.memories.map((m: { content: string }) => m.content).sort()).toEqual([
        'Alice drives a blue hatchback',
        'Alice is allergic to peanuts',
        'Alice works as a nurse in Porto',
      ]);
      const found = await call(server, 'POST', '/v1/memories/search', { query: 'peanut allergy', user_id: 'alice' });
      expect(found.body.results[0].memory).toMatchObject({ content: 'Alice is allergic to peanuts', status: 'ready' });
    } finally {
      await stop(server);
    }
  });

  it('stops at boot with one clear line on bad configuration', async () => {
    const result = spawnSync(process.execPath, ['apps/api/dist/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOST: '0.0.0.0', DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('set ENGRAM_API_KEY or bind HOST to 127.0.0.1');
  });
});
