import type { Embedder } from '@engram/memory-core';
import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import OpenAI, { APIConnectionTimeoutError, APIError } from 'openai';
import { l2Normalize } from './vector-math.js';

export interface OpenAIEmbedderOptions {
  /** The API root including the version, as the OpenAI client expects it. Default `https://api.openai.com/v1`. */
  baseUrl?: string;
  model: string;
  /** Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) need none. */
  apiKey?: string;
  /** Length of the vectors the endpoint returns; every response is checked against it. */
  dimensions: number;
  /**
   * Whether to ask the endpoint for `dimensions` (the `dimensions` request field). Default true. Turn it off
   * for models with a fixed size, such as text-embedding-ada-002, which reject the field.
   */
  sendDimensions?: boolean;
  /** Per request. Default 60 s. */
  timeoutMs?: number;
  /** Retries of 408/409/429/5xx and connection errors, with backoff. Default 2. */
  maxRetries?: number;
  /** Most inputs per request. Default 256, well below the API's limit of 2048 and its token limit per request. */
  maxBatchSize?: number;
}

/**
 * Any OpenAI-compatible `/embeddings` endpoint. Failures surface as `MemoryException` with code
 * `EMBEDDING_FAILED`, naming the endpoint and status and never the API key, since the messages end up in
 * logs and job records.
 */
export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;

  private readonly client: OpenAI;
  private readonly endpoint: string;
  private readonly apiKey: string | undefined;
  private readonly sendDimensions: boolean;
  private readonly maxBatchSize: number;

  constructor(options: OpenAIEmbedderOptions) {
    if (!Number.isInteger(options.dimensions) || options.dimensions <= 0) {
      throw new RangeError(`embedding dimensions must be a positive integer, got ${options.dimensions}`);
    }
    const baseUrl = options.baseUrl ?? 'https://api.openai.com/v1';
    this.model = options.model;
    this.dimensions = options.dimensions;
    this.apiKey = options.apiKey || undefined;
    this.sendDimensions = options.sendDimensions ?? true;
    this.maxBatchSize = options.maxBatchSize ?? 256;
    this.endpoint = describeEndpoint(baseUrl);
    this.client = new OpenAI({
      baseURL: baseUrl,
      // The client refuses to start without a key, but a local server ignores it.
      apiKey: this.apiKey ?? 'unused',
      // Explicit nulls stop the client from picking these up from OPENAI_* environment variables: all
      // configuration comes through libs/config.
      organization: null,
      project: null,
      timeout: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const vectors: number[][] = [];
    // Sequential requests: a large batch should not burst into the endpoint's rate limit.
    for (let start = 0; start < texts.length; start += this.maxBatchSize) {
      vectors.push(...(await this.embedBatch(texts.slice(start, start + this.maxBatchSize))));
    }
    return vectors;
  }

  private async embedBatch(input: string[]): Promise<number[][]> {
    let response: OpenAI.Embeddings.CreateEmbeddingResponse;
    try {
      response = await this.client.embeddings.create({
        model: this.model,
        input,
        ...(this.sendDimensions ? { dimensions: this.dimensions } : {}),
        encoding_format: 'float',
      });
    } catch (error) {
      throw this.requestFailed(error);
    }

    if (response.data.length !== input.length) {
      throw this.failure(`returned ${response.data.length} embeddings for ${input.length} inputs`);
    }
    // The API documents `index` as the position in the input; servers may answer out of order.
    const vectors = new Array<number[] | undefined>(input.length);
    for (const item of response.data) {
      if (!Number.isInteger(item.index) || item.index < 0 || item.index >= input.length || vectors[item.index]) {
        throw this.failure(`returned an invalid or duplicate index ${item.index}`);
      }
      if (item.embedding.length !== this.dimensions) {
        throw this.failure(
          `returned ${item.embedding.length}-dimensional vectors, expected ${this.dimensions} for model ${this.model}`,
        );
      }
      // Unit length like every other Embedder, so inner product and cosine agree whatever the server does.
      vectors[item.index] = l2Normalize(Array.from(item.embedding));
    }
    return vectors as number[][];
  }

  private requestFailed(error: unknown): MemoryException {
    if (error instanceof APIConnectionTimeoutError) return this.failure('timed out');
    if (error instanceof APIError) {
      const status = error.status === undefined ? 'no response' : `status ${error.status}`;
      return this.failure(`failed with ${status}: ${error.message}`, error.status);
    }
    return this.failure(`failed: ${error instanceof Error ? error.message : String(error)}`);
  }

  private failure(problem: string, status?: number): MemoryException {
    return new MemoryException(
      MemoryExceptionCode.EMBEDDING_FAILED,
      this.redact(`embedding request to ${this.endpoint} ${problem}`),
      { endpoint: this.endpoint, model: this.model, status },
    );
  }

  /** Error bodies sometimes echo the key (OpenAI masks it, other servers may not). */
  private redact(message: string): string {
    return this.apiKey ? message.split(this.apiKey).join('[redacted]') : message;
  }
}

/** The base URL without credentials or query, which may carry secrets of their own. */
function describeEndpoint(baseUrl: string): string {
  try {
    const url = new URL(baseUrl);
    return `${url.origin}${url.pathname.replace(/\/$/, '')}/embeddings`;
  } catch {
    throw new RangeError('embedding base URL is not a valid URL');
  }
}
