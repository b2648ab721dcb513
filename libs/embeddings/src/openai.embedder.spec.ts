import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import { OpenAIEmbedder, type OpenAIEmbedderOptions } from './openai.embedder.js';
import { l2Normalize } from './vector-math.js';

interface EmbeddingsRequestBody {
  model: string;
  input: string[];
  dimensions?: number;
  encoding_format?: string;
}

interface RecordedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: EmbeddingsRequestBody;
}

/** How the fake server answers the next requests; reset before every test. */
interface ServerBehaviour {
  shuffle: boolean;
  failWith?: { status: number; body: unknown };
  /** Answer with vectors of this size whatever was asked. */
  forceDimensions?: number;
}

const API_KEY = 'sk-test-0123456789-secret';
const DEFAULT_SERVER_DIMENSIONS = 8;

/** Deterministic, not normalised, and different for different texts. */
function fakeVector(text: string, dimensions: number): number[] {
  return Array.from(
    { length: dimensions },
    (_, i) => (((text.charCodeAt(i % Math.max(text.length, 1)) || 7) * (i + 1)) % 101) + 1,
  );
}

describe('OpenAIEmbedder', () => {
  let server: Server;
  let baseUrl: string;
  let requests: RecordedRequest[];
  let behaviour: ServerBehaviour;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const body = JSON.parse(raw) as EmbeddingsRequestBody;
        requests.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        if (behaviour.failWith) {
          res.statusCode = behaviour.failWith.status;
          res.end(JSON.stringify(behaviour.failWith.body));
          return;
        }
        const dimensions = behaviour.forceDimensions ?? body.dimensions ?? DEFAULT_SERVER_DIMENSIONS;
        const data = body.input.map((text, index) => ({
          object: 'embedding',
          index,
          embedding: fakeVector(text, dimensions),
        }));
        if (behaviour.shuffle) data.reverse();
        res.end(
          JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  });

  beforeEach(() => {
    requests = [];
    behaviour = { shuffle: false };
  });

  const newSut = (options: Partial<OpenAIEmbedderOptions> = {}) =>
    new OpenAIEmbedder({ baseUrl, model: 'text-embedding-3-small', apiKey: API_KEY, dimensions: 16, ...options });

  it('exposes the configured model and dimensions', () => {
    const sut = newSut();
    expect(sut.model).toBe('text-embedding-3-small');
    expect(sut.dimensions).toBe(16);
  });

  it('sends the model, the dimensions and the key to the configured endpoint', async () => {
    const vectors = await newSut().embed(['hello', 'world']);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/v1/embeddings');
    expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request.body).toEqual({
      model: 'text-embedding-3-small',
      input: ['hello', 'world'],
      dimensions: 16,
      encoding_format: 'float',
    });
    expect(vectors).toEqual([l2Normalize(fakeVector('hello', 16)), l2Normalize(fakeVector('world', 16))]);
  });

  it('uses a placeholder key for servers that need none', async () => {
    await newSut({ apiKey: undefined }).embed(['hello']);
    expect(requests[0].headers.authorization).toBe('Bearer unused');
  });

  it('does not send dimensions when told not to, and still checks them', async () => {
    const vectors = await newSut({ sendDimensions: false, dimensions: DEFAULT_SERVER_DIMENSIONS }).embed(['hello']);
    expect(requests[0].body).not.toHaveProperty('dimensions');
    expect(vectors[0]).toHaveLength(DEFAULT_SERVER_DIMENSIONS);
  });

  it('orders the results by index even when the server shuffles them', async () => {
    behaviour.shuffle = true;
    const texts = ['first', 'second', 'third', 'fourth'];
    const vectors = await newSut().embed(texts);
    expect(vectors).toEqual(texts.map((text) => l2Normalize(fakeVector(text, 16))));
  });

  it('splits more than 256 inputs into requests of at most 256, keeping the order', async () => {
    behaviour.shuffle = true;
    const texts = Array.from({ length: 600 }, (_, i) => `text ${i}`);
    const vectors = await newSut().embed(texts);

    expect(requests.map((request) => request.body.input.length)).toEqual([256, 256, 88]);
    expect(requests.flatMap((request) => request.body.input)).toEqual(texts);
    expect(vectors).toEqual(texts.map((text) => l2Normalize(fakeVector(text, 16))));
  });

  it('returns [] for an empty batch without a request', async () => {
    await expect(newSut().embed([])).resolves.toEqual([]);
    expect(requests).toHaveLength(0);
  });

  it('turns a 500 into EMBEDDING_FAILED naming the endpoint and status', async () => {
    behaviour.failWith = { status: 500, body: { error: { message: 'model crashed', type: 'server_error' } } };
    const error = await newSut({ maxRetries: 0 })
      .embed(['hello'])
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(MemoryException);
    expect(error).toMatchObject({ code: MemoryExceptionCode.EMBEDDING_FAILED });
    const { message } = error as MemoryException;
    expect(message).toContain(`${baseUrl}/embeddings`);
    expect(message).toContain('500');
    expect(message).not.toContain(API_KEY);
    expect(requests).toHaveLength(1);
  });

  it('turns a 401 into EMBEDDING_FAILED without leaking the key, even when the server echoes it', async () => {
    behaviour.failWith = {
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${API_KEY}`, type: 'invalid_request_error' } },
    };
    const error = await newSut({ maxRetries: 0 })
      .embed(['hello'])
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ code: MemoryExceptionCode.EMBEDDING_FAILED });
    const { message, details } = error as MemoryException;
    expect(message).toContain('401');
    expect(message).not.toContain(API_KEY);
    expect(JSON.stringify(details)).not.toContain(API_KEY);
  });

  it('reports an unreachable endpoint as EMBEDDING_FAILED', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const sut = newSut({ baseUrl: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
    await expect(sut.embed(['hello'])).rejects.toMatchObject({
      code: MemoryExceptionCode.EMBEDDING_FAILED,
      message: expect.stringContaining(`127.0.0.1:${port}/v1/embeddings`),
    });
  });

  it('rejects vectors whose length differs from the configured dimensions', async () => {
    behaviour.forceDimensions = 4;
    await expect(newSut().embed(['hello'])).rejects.toMatchObject({
      code: MemoryExceptionCode.EMBEDDING_FAILED,
      message: expect.stringContaining('expected 16'),
    });
  });

  it('keeps credentials in the base URL out of error messages', async () => {
    behaviour.failWith = { status: 500, body: { error: { message: 'down' } } };
    const credentialed = baseUrl.replace('http://', 'http://user:hunter2@');
    const error = await newSut({ baseUrl: credentialed, maxRetries: 0 })
      .embed(['hello'])
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: MemoryExceptionCode.EMBEDDING_FAILED });
    expect((error as MemoryException).message).not.toContain('hunter2');
  });
});
