import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createScratchDatabase, startApiProcess, type ApiProcess, type ScratchDatabase } from '@engram/testing';
import { HeldEmbeddingServer } from './support/held-embedding.server.js';
import { eventually, PrivateRedisServer } from './support/private-services.js';

/**
 * SIGTERM on the built API process (what an orchestrator sends before it kills a pod): the server stops accepting
 * connections, the requests under way still get their answers, the embedding jobs under way still finish and are
 * written, and the process exits 0. The embedding endpoint holds its answer so that the signal surely arrives while a
 * request and a job are in the middle of their work.
 */

const USER = { user_id: 'shutdown-user' };

function exitOf(api: ApiProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  const child = api.process;
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Resolves once nothing accepts connections on the API's port any more. */
async function refusesConnections(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  await eventually(
    () =>
      new Promise<void>((resolve, reject) => {
        const socket = connect(Number(port), hostname);
        socket.once('connect', () => {
          socket.destroy();
          reject(new Error('still accepting connections'));
        });
        socket.once('error', (error: NodeJS.ErrnoException) =>
          error.code === 'ECONNREFUSED' ? resolve() : reject(error),
        );
      }),
    5_000,
  );
}

describe('SIGTERM drains the built API process', () => {
  let database: ScratchDatabase;
  let redis: PrivateRedisServer;
  let embeddings: HeldEmbeddingServer;
  let api: ApiProcess | undefined;

  beforeAll(async () => {
    [database, redis, embeddings] = await Promise.all([
      createScratchDatabase(),
      PrivateRedisServer.create(),
      HeldEmbeddingServer.start(),
    ]);
  });

  afterEach(async () => {
    embeddings.release();
    await api?.stop();
    api = undefined;
  });

  afterAll(async () => {
    await embeddings?.close();
    await redis?.destroy();
    await database?.drop();
  });

  const start = async (queue: 'bullmq' | 'in-process' = 'bullmq') => {
    api = await startApiProcess({
      DATABASE_URL: database.url,
      ...(queue === 'bullmq' ? { REDIS_URL: redis.url } : {}),
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_BASE_URL: embeddings.baseUrl,
      EMBEDDINGS_MODEL: 'held-model',
      EMBEDDINGS_DIMENSIONS: '8',
      LOG_LEVEL: 'warn',
    });
    return api;
  };

  async function statusOf(memoryId: string): Promise<{ status: string; embedded: boolean }> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ status: string; embedded: boolean }>(
        'SELECT status, embedding IS NOT NULL AS embedded FROM memories WHERE id = $1',
        [memoryId],
      );
      return rows[0];
    } finally {
      await client.end();
    }
  }

  it('answers a request under way, stops accepting new ones, and exits 0', async () => {
    const server = await start();
    embeddings.hold();
    const pending = server.request('POST', '/v1/memories?wait=true', {
      body: { ...USER, content: 'added just before the signal' },
    });
    await embeddings.arrival();

    server.process.kill('SIGTERM');
    const exited = exitOf(server);
    await refusesConnections(server.url);
    expect(server.process.exitCode).toBeNull();

    embeddings.release();
    const res = await pending;
    expect(res.status).toBe(201);
    expect(res.body.memory.status).toBe('ready');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(await statusOf(res.body.memory.id)).toEqual({ status: 'ready', embedded: true });
  });

  it.each(['bullmq', 'in-process'] as const)(
    'lets an embedding job under way (%s queue) finish and write its vector before exiting 0',
    async (queue) => {
      const server = await start(queue);
      embeddings.hold();
      const accepted = await server.request('POST', '/v1/memories', { body: { ...USER, content: 'embedded late' } });
      expect(accepted.status).toBe(202);
      await embeddings.arrival();

      server.process.kill('SIGTERM');
      const exited = exitOf(server);
      // Still running while the job waits for its vectors.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(server.process.exitCode).toBeNull();

      embeddings.release();
      expect(await exited).toEqual({ code: 0, signal: null });
      expect(await statusOf(accepted.body.memory.id)).toEqual({ status: 'ready', embedded: true });
      expect(embeddings.abandoned).toBe(0);
    },
  );
});
