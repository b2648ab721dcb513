import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBuiltApp, startApiProcess } from '@engram/testing';

/**
 * The server as `npm start` runs it: the built app in its own process, on the embedded default,
 * with the offline `local` embedder. Proves the README's promise end to end.
 */
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
    let server = await startApiProcess(env);
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const added = await server.request('POST', '/v1/memories?wait=true', {
        body: {
          content: 'Alice is allergic to peanuts',
          user_id: 'alice',
        },
      });
      expect(added.status).toBe(201);
      expect(added.body.memory.status).toBe('ready');
      await server.request('POST', '/v1/memories?wait=true', {
        body: { content: 'Alice works as a nurse in Porto', user_id: 'alice' },
      });
      await server.request('POST', '/v1/memories?wait=true', {
        body: { content: 'Alice drives a blue hatchback', user_id: 'alice' },
      });

      const found = await server.request('POST', '/v1/memories/search', {
        body: {
          query: 'which foods must she avoid?',
          user_id: 'alice',
          mode: 'vector',
        },
      });
      expect(found.status).toBe(200);
      expect(found.body.results[0].memory.content).toBe('Alice is allergic to peanuts');
    } finally {
      await server.stop();
    }

    server = await startApiProcess(env);
    try {
      const listed = await server.request('GET', '/v1/memories?user_id=alice');
      expect(listed.body.memories.map((m: { content: string }) => m.content).sort()).toEqual([
        'Alice drives a blue hatchback',
        'Alice is allergic to peanuts',
        'Alice works as a nurse in Porto',
      ]);
      const found = await server.request('POST', '/v1/memories/search', {
        body: { query: 'peanut allergy', user_id: 'alice' },
      });
      expect(found.body.results[0].memory).toMatchObject({ content: 'Alice is allergic to peanuts', status: 'ready' });
    } finally {
      await server.stop();
    }
  });

  it('stops at boot with one clear line on bad configuration', async () => {
    const result = runBuiltApp('apps/api/dist/main.js', { HOST: '0.0.0.0', DATA_DIR: dataDir });
    expect(result.status).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('set ENGRAM_API_KEY or bind HOST to 127.0.0.1');
  });
});
