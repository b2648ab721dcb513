import { createHash } from 'node:crypto';
import type { Embedder } from '@engram/memory-core';

export interface CachedEmbedderOptions {
  /** Most vectors kept; the least recently used is evicted first. Default 10,000 (about 40 MB of vectors at 512 dimensions). */
  maxEntries?: number;
}

export interface EmbeddingCacheStats {
  hits: number;
  misses: number;
  size: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/i;

/**
 * An in-process LRU in front of another embedder. Searches repeat the same queries and re-embedding jobs repeat
 * the same content, and every avoided call saves model CPU time or a paid request. Keys include the model, so
 * vectors of different models never mix, and a digest of the text rather than the text, so that long texts do
 * not occupy memory twice.
 */
export class CachedEmbedder implements Embedder {
  private readonly entries = new Map<string, number[]>();
  private readonly maxEntries: number;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly inner: Embedder,
    options: CachedEmbedderOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries <= 0) {
      throw new RangeError(`maxEntries must be a positive integer, got ${this.maxEntries}`);
    }
  }

  get model(): string {
    return this.inner.model;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  async embed(texts: readonly string[]): Promise<number[][]> {
    const keys = texts.map((text) => this.keyOf(text));
    const vectors = new Array<number[] | undefined>(texts.length);
    // Each distinct missing text is embedded once, even if the batch repeats it.
    const missing = new Map<string, { text: string; positions: number[] }>();

    keys.forEach((key, position) => {
      const cached = this.entries.get(key);
      if (cached) {
        this.hits++;
        this.touch(key, cached);
        vectors[position] = cached.slice();
        return;
      }
      this.misses++;
      const miss = missing.get(key);
      if (miss) miss.positions.push(position);
      else missing.set(key, { text: texts[position], positions: [position] });
    });

    if (missing.size > 0) {
      const misses = [...missing.entries()];
      const embedded = await this.inner.embed(misses.map(([, miss]) => miss.text));
      misses.forEach(([key, miss], i) => {
        this.store(key, embedded[i]);
        // Copies, so a caller that modifies its result cannot corrupt the cache or another caller's vector.
        for (const position of miss.positions) vectors[position] = embedded[i].slice();
      });
    }
    return vectors as number[][];
  }

  /**
   * Forgets the vectors of these texts, named by their content hashes (sha256, hex: a memory's `contentHash`), so
   * that a GDPR erase can empty the cache of a data subject's texts without the cache ever keeping texts. Returns
   * how many entries it removed. An embed already running for one of the texts stores its vector when it ends:
   * evict once no job of the subject runs any more.
   */
  evictContent(contentHashes: Iterable<string>): number {
    let evicted = 0;
    for (const hash of contentHashes) {
      if (!SHA256_HEX.test(hash)) throw new RangeError(`not a sha256 content hash: ${hash.slice(0, 80)}`);
      if (this.entries.delete(this.keyOfDigest(Buffer.from(hash, 'hex').toString('base64')))) evicted++;
    }
    return evicted;
  }

  /** Forgets every vector: for a process that may have missed an eviction (see `evictContent`). How many. */
  clear(): number {
    const size = this.entries.size;
    this.entries.clear();
    return size;
  }

  stats(): EmbeddingCacheStats {
    return { hits: this.hits, misses: this.misses, size: this.entries.size };
  }

  async close(): Promise<void> {
    this.entries.clear();
    await this.inner.close?.();
  }

  private keyOf(text: string): string {
    return this.keyOfDigest(createHash('sha256').update(text).digest('base64'));
  }

  private keyOfDigest(sha256Base64: string): string {
    return `${this.inner.model}:${sha256Base64}`;
  }

  /** A Map iterates in insertion order, so re-inserting a key makes it the most recently used. */
  private touch(key: string, vector: number[]): void {
    this.entries.delete(key);
    this.entries.set(key, vector);
  }

  private store(key: string, vector: number[]): void {
    this.touch(key, vector);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }
}
