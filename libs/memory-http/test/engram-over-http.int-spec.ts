import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runBuiltApp, startApiProcess, type ApiProcess } from '@engram/testing';
import { startRemoteEngram, type RemoteEngram } from './remote-engram.js';

/**
 * `MEMORY_PROVIDER=http` end to end: an Engram whose memories live on another Engram, driven through its own native
 * routes, once with the remote's API key and once with its signing secret; the remote spoken to in its native API
 * (MEMORY_HTTP_URL is its root) and in mem0's (MEMORY_HTTP_URL is its mem0 root).
 */
describe('Engram with MEMORY_PROVIDER=http', () => {
  let remote: RemoteEngram;
  const fronts: { server: ApiProcess; dataDir: string }[] = [];

  beforeAll(async () => {
    remote = await startRemoteEngram('local');
  }, 60_000);
  afterAll(async () => {
    for (const front of fronts) {
      await front.server.stop();
      await rm(front.dataDir, { recursive: true, force: true });
    }
    await remote?.stop();
  });

  async function startFront(credentials: Record<string, string>, url = remote.mem0Url): Promise<ApiProcess> {
    const dataDir = await mkdtemp(join(tmpdir(), 'engram-front-'));
    const server = await startApiProcess({
      DATA_DIR: dataDir,
      EMBEDDINGS_PROVIDER: 'hash',
      LOG_LEVEL: 'silent',
      MEMORY_PROVIDER: 'http',
      MEMORY_HTTP_URL: url,
      MEMORY_HTTP_TIMEOUT_MS: '5000',
      MEMORY_HTTP_RETRIES: '1',
      ...credentials,
    });
    fronts.push({ server, dataDir });
    return server;
  }

  describe.each([
    ['the native API', 'the API key', () => ({ MEMORY_HTTP_API_KEY: remote.apiKey }), () => remote.url],
    [
      'the native API',
      'signed requests',
      () => ({ MEMORY_HTTP_SIGNING_SECRET: remote.signingSecret! }),
      () => remote.url,
    ],
    ['the mem0 API', 'the API key', () => ({ MEMORY_HTTP_API_KEY: remote.apiKey }), () => remote.mem0Url],
    [
      'the mem0 API',
      'signed requests',
      () => ({ MEMORY_HTTP_SIGNING_SECRET: remote.signingSecret! }),
      () => remote.mem0Url,
    ],
  ])('in %s, with %s', (dialect, _, credentials, url) => {
    let front: ApiProcess;
    const user = `user-${Math.random().toString(36).slice(2)}`;

    beforeAll(async () => {
      front = await startFront(credentials(), url());
    }, 60_000);

    it('should be ready, reporting the remote', async () => {
      const ready = await front.request('GET', '/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.dependencies.storage).toMatchObject({ status: 'up' });
    });

    it('should store, find, change and delete memories on the remote through the native routes', async () => {
      const added = await front.request('POST', '/v1/memories?wait=true', {
        body: { content: 'Alice is allergic to peanuts', user_id: user, metadata: { source: 'front' } },
      });
      expect(added.status).toBe(201);
      const id = added.body.memory.id as string;

      const onRemote = await remote.server.request('GET', `/v1/memories/${id}`, {
        headers: { authorization: `Bearer ${remote.apiKey}` },
      });
      expect(onRemote.status).toBe(200);
      expect(onRemote.body.memory).toMatchObject({ content: 'Alice is allergic to peanuts', user_id: user });

      const found = await front.request('POST', '/v1/memories/search', {
        body: { query: 'what is alice allergic to?', user_id: user },
      });
      expect(found.status).toBe(200);
      expect(found.body.results[0].memory.id).toBe(id);

      const patched = await front.request('PATCH', `/v1/memories/${id}`, { body: { content: 'Alice avoids nuts' } });
      expect(patched.status).toBe(200);
      expect((await front.request('GET', `/v1/memories?user_id=${user}`)).body.memories).toHaveLength(1);

      expect((await front.request('DELETE', `/v1/memories/${id}`)).status).toBe(200);
      expect((await front.request('GET', `/v1/memories/${id}`)).status).toBe(404);
      const history = await front.request('GET', `/v1/memories/${id}/history`);
      expect(history.body.history.map((row: { op: string }) => row.op)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    });

    if (dialect === 'the native API') {
      it('should keep every field and rank in every mode on the remote', async () => {
        const added = await front.request('POST', '/v1/memories?wait=true', {
          body: {
            content: 'Bob keeps bees on his roof',
            user_id: user,
            importance: 9,
            confidence: 0.7,
            memory_type: 'hobby',
            categories: ['outdoors'],
          },
        });
        expect(added.status).toBe(201);
        expect(added.body.memory).toMatchObject({
          importance: 9,
          confidence: 0.7,
          memory_type: 'hobby',
          status: 'ready',
        });
        const onRemote = await remote.server.request('GET', `/v1/memories/${added.body.memory.id}`, {
          headers: { authorization: `Bearer ${remote.apiKey}` },
        });
        expect(onRemote.body.memory).toMatchObject({ importance: 9, categories: ['outdoors'], memory_type: 'hobby' });
        for (const mode of ['keyword', 'vector', 'hybrid']) {
          const found = await front.request('POST', '/v1/memories/search', {
            body: { query: 'bees roof', user_id: user, mode, filters: { memory_type: 'hobby' } },
          });
          expect(found.status).toBe(200);
          expect(found.body.results[0].memory.id).toBe(added.body.memory.id);
        }
      });
      return;
    }

    it('should answer a 400 naming what the remote cannot store or rank, never a 500', async () => {
      const add = await front.request('POST', '/v1/memories', { body: { content: 'x', user_id: user, importance: 9 } });
      expect(add.status).toBe(400);
      expect(add.body.error.message).toContain('importance');
      const search = await front.request('POST', '/v1/memories/search', {
        body: { query: 'x', user_id: user, mode: 'keyword' },
      });
      expect(search.status).toBe(400);
      expect(search.body.error.message).toContain('keyword');
    });
  });

  it('should answer 503 when the remote refuses its credentials', async () => {
    const front = await startFront({ MEMORY_HTTP_API_KEY: 'not-the-key' });
    const read = await front.request('GET', '/v1/memories?user_id=anyone');
    expect(read.status).toBe(503);
    expect(read.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
    expect((await front.request('GET', '/ready')).status).toBe(503);
  });

  it('should refuse to boot without the remote URL, saying which variables it needs', () => {
    const run = runBuiltApp('apps/api/dist/main.js', { MEMORY_PROVIDER: 'http', EMBEDDINGS_PROVIDER: 'hash' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('MEMORY_PROVIDER=http needs MEMORY_HTTP_URL');
  });
});
