import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { MemoryException, MemoryExceptionCode, RequestSignatureVerifier } from '@engram/memory-core';
import { Mem0HttpClient, type Mem0HttpClientOptions } from './mem0-http.client.js';

interface Received {
  at: number;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** What the loopback server does with its nth request: answer (status, body, headers), or hold it unanswered. */
type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'hold';

/** A real HTTP server on loopback that answers from a script and records what it received. */
class ScriptedServer {
  readonly received: Received[] = [];
  private script: Reply[] = [];
  private verifier: RequestSignatureVerifier | null = null;
  private readonly held: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mem0`;
  }

  /** The replies, in order; the last one repeats. With a secret, each request's signature is checked first (401). */
  plan(replies: Reply[], signingSecret?: string): void {
    this.script = replies;
    this.received.length = 0;
    this.verifier = signingSecret ? new RequestSignatureVerifier(signingSecret) : null;
  }

  releaseHeld(): void {
    for (const res of this.held.splice(0)) res.destroy();
  }

  async stop(): Promise<void> {
    this.releaseHeld();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const index = this.received.length;
    this.received.push({ at: Date.now(), method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    if (this.verifier) {
      try {
        this.verifier.verify({ method: req.method ?? '', pathAndQuery: req.url ?? '', headers: req.headers, body });
      } catch (error) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: (error as Error).message, code: 'UNAUTHORIZED' }));
        return;
      }
    }
    const reply = this.script[Math.min(index, this.script.length - 1)];
    if (reply === 'hold') {
      this.held.push(res);
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }
}

async function failure(promise: Promise<unknown>): Promise<MemoryException> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(MemoryException);
    return error as MemoryException;
  }
  throw new Error('expected the request to fail');
}

const gaps = (received: Received[]) => received.slice(1).map((r, i) => r.at - received[i].at);

describe('Mem0HttpClient', () => {
  const server = new ScriptedServer();
  const client = (options: Partial<Mem0HttpClientOptions> = {}) =>
    new Mem0HttpClient({
      baseUrl: server.url,
      timeoutMs: 2_000,
      retries: 3,
      backoff: { baseMs: 40, maxMs: 1_000 },
      ...options,
    });
  const ping = { method: 'GET' as const, path: '/v1/ping/', credentials: { apiKey: 'k' } };

  beforeAll(() => server.start());
  afterEach(() => server.releaseHeld());
  afterAll(() => server.stop());

  describe('retries', () => {
    it('should retry a 5xx with exponential backoff and jitter, then return the answer', async () => {
      server.plan([{ status: 503 }, { status: 502 }, { status: 500 }, { status: 200, body: { status: 'ok' } }]);
      expect(await client().request(ping)).toEqual({ status: 'ok' });
      expect(server.received).toHaveLength(4);
      // Retry n waits between half and all of 40 ms · 2^n (a few ms of slack for the timers).
      const [first, second, third] = gaps(server.received);
      expect(first).toBeGreaterThanOrEqual(20 - 5);
      expect(second).toBeGreaterThanOrEqual(40 - 5);
      expect(third).toBeGreaterThanOrEqual(80 - 5);
      expect(third).toBeLessThan(160 + 100);
    });

    it('should honour Retry-After on a 429', async () => {
      server.plan([
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 200, body: { status: 'ok' } },
      ]);
      expect(await client().request(ping)).toEqual({ status: 'ok' });
      expect(server.received).toHaveLength(2);
      expect(gaps(server.received)[0]).toBeGreaterThanOrEqual(990);
    });

    it('should not wait for a Retry-After longer than allowed, and fail as RATE_LIMITED', async () => {
      server.plan([{ status: 429, headers: { 'retry-after': '120', 'x-ratelimit-limit': '60' } }]);
      const error = await failure(client({ maxRetryAfterMs: 10_000 }).request(ping));
      expect(error.code).toBe(MemoryExceptionCode.RATE_LIMITED);
      expect(error.details).toMatchObject({ limit: 60, retry_after_seconds: 120 });
      expect(server.received).toHaveLength(1);
    });

    it('should give up after the configured retries, as DEPENDENCY_UNAVAILABLE naming the status', async () => {
      server.plan([{ status: 503, body: { detail: 'database down' } }]);
      const error = await failure(client({ retries: 2 }).request(ping));
      expect(error.code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
      expect(error.message).toContain('503');
      expect(error.message).toContain('database down');
      expect(server.received).toHaveLength(3);
    });

    it.each<[number, MemoryExceptionCode]>([
      [400, MemoryExceptionCode.VALIDATION_FAILED],
      [404, MemoryExceptionCode.MEMORY_NOT_FOUND],
      [409, MemoryExceptionCode.CONFLICT],
      [401, MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
      [403, MemoryExceptionCode.DEPENDENCY_UNAVAILABLE],
    ])('should never retry a %d, and map it to %s', async (status, code) => {
      server.plan([
        { status, body: { detail: `remote says ${status}` } },
        { status: 200, body: {} },
      ]);
      const error = await failure(client().request(ping));
      expect(error.code).toBe(code);
      expect(error.message).toContain(`remote says ${status}`);
      expect(server.received).toHaveLength(1);
    });

    it("should keep the remote's own validation code when it gives one", async () => {
      server.plan([{ status: 400, body: { detail: 'unknown filter field "colour"', code: 'INVALID_FILTER' } }]);
      expect((await failure(client().request(ping))).code).toBe(MemoryExceptionCode.INVALID_FILTER);
    });

    it('should not retry a non-idempotent write after a 5xx, which may follow the write', async () => {
      server.plan([{ status: 503 }, { status: 200, body: { results: [] } }]);
      const add = { ...ping, method: 'POST' as const, path: '/v3/memories/add/', body: {}, idempotent: false };
      expect((await failure(client().request(add))).code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
      expect(server.received).toHaveLength(1);
    });

    it('should retry a non-idempotent write after a 429, which did nothing', async () => {
      server.plan([
        { status: 429, headers: { 'retry-after': '0' } },
        { status: 200, body: { results: [] } },
      ]);
      const add = { ...ping, method: 'POST' as const, path: '/v3/memories/add/', body: {}, idempotent: false };
      expect(await client().request(add)).toEqual({ results: [] });
      expect(server.received).toHaveLength(2);
    });
  });

  describe('timeouts and network errors', () => {
    it('should abort an attempt after the timeout, retry it, and fail as TIMEOUT', async () => {
      server.plan(['hold']);
      const started = Date.now();
      const error = await failure(client({ timeoutMs: 150, retries: 1 }).request(ping));
      expect(error.code).toBe(MemoryExceptionCode.TIMEOUT);
      expect(error.message).toContain('2 attempts');
      expect(server.received).toHaveLength(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    });

    it('should recover when the remote answers in time on a retry', async () => {
      server.plan(['hold', { status: 200, body: { status: 'ok' } }]);
      expect(await client({ timeoutMs: 150 }).request(ping)).toEqual({ status: 'ok' });
    });

    it('should fail as DEPENDENCY_UNAVAILABLE when nothing listens, after its retries', async () => {
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      const started = Date.now();
      const error = await failure(
        new Mem0HttpClient({
          baseUrl: `http://127.0.0.1:${port}`,
          timeoutMs: 1_000,
          retries: 2,
          backoff: { baseMs: 100, maxMs: 1_000 },
        }).request(ping),
      );
      expect(error.code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
      expect(error.message).toContain('ECONNREFUSED');
      expect(error.message).toContain('3 attempts');
      // Two waits: at least 50 ms and 100 ms.
      expect(Date.now() - started).toBeGreaterThanOrEqual(150 - 5);
    });
  });

  describe('authentication', () => {
    it("should send the API key as mem0's clients do", async () => {
      server.plan([{ status: 200, body: {} }]);
      await client().request({ ...ping, credentials: { apiKey: 'secret-key' } });
      expect(server.received[0].headers.authorization).toBe('Token secret-key');
    });

    it('should sign each attempt afresh, so that a retry is not refused as a replay', async () => {
      server.plan([{ status: 503 }, { status: 200, body: { results: [] } }], 'shared');
      const answer = await client().request({
        method: 'POST',
        path: '/v3/memories/search/',
        query: { page: 2 },
        body: { query: 'peanuts', filters: { user_id: 'alice' } },
        credentials: { signingSecret: 'shared' },
        userContext: { user_id: 'alice' },
      });
      expect(answer).toEqual({ results: [] });
      const [first, second] = server.received;
      expect(first.url).toBe('/mem0/v3/memories/search/?page=2');
      expect(first.headers['x-signature']).not.toBe(second.headers['x-signature']);
      expect(JSON.parse(Buffer.from(String(first.headers['x-user-context']), 'base64url').toString())).toEqual({
        user_id: 'alice',
      });
      expect(first.headers.authorization).toBeUndefined();
    });

    it('should name the key a signature belongs to in X-Key-Id, and only when one is configured', async () => {
      server.plan([{ status: 200, body: {} }], 'per-key secret');
      await client().request({ ...ping, credentials: { signingSecret: 'per-key secret', keyId: 'key_0123' } });
      await client().request({ ...ping, credentials: { signingSecret: 'per-key secret' } });
      expect(server.received.map((request) => request.headers['x-key-id'])).toEqual(['key_0123', undefined]);
    });

    it("should be refused by a server that holds another secret, with the remote's reason", async () => {
      server.plan([{ status: 200, body: {} }], 'the server secret');
      const error = await failure(client().request({ ...ping, credentials: { signingSecret: 'a wrong secret' } }));
      expect(error.code).toBe(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE);
      expect(error.message).toContain('signature does not match');
      expect(server.received).toHaveLength(1);
    });
  });
});
