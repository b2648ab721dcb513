import type { Embedder } from '@engram/memory-core';
import { l2Normalize } from './vector-math.js';

export interface HashEmbedderOptions {
  /** Number of hash buckets, i.e. the vector length. Default 384, the size of common small sentence models. */
  dimensions?: number;
}

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Namespaces keep a word and a character 3-gram with the same characters (e.g. "cat" and "<ca") from
// sharing a feature by construction; only genuine hash collisions may merge features.
const WORD_NAMESPACE = 0x57; // 'W'
const TRIGRAM_NAMESPACE = 0x43; // 'C'
const WORD_START = 0x3c; // '<'
const WORD_END = 0x3e; // '>'
const WORD_PATTERN = /[\p{L}\p{N}]+/gu;

function fnvStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, FNV_PRIME);
}

/**
 * FNV-1a's low bits depend on few input bits (bit 0 is just the XOR of the inputs' bit 0), and the
 * bucket is taken modulo the dimension, i.e. mostly from the low bits. The murmur3 finaliser spreads
 * every input bit over the whole word so that buckets and signs are evenly used.
 */
function avalanche(hash: number): number {
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * Deterministic, dependency-free embeddings by feature hashing (word unigrams and character 3-grams, signed
 * buckets, sublinear term frequency). It captures lexical overlap only, not meaning: it exists for tests and
 * load generation, where an embedding model would dominate the cost and make results machine-dependent.
 *
 * A text without any letter or digit (including the empty string) has no features and embeds to the zero
 * vector; every other text embeds to a unit vector.
 */
export class HashEmbedder implements Embedder {
  readonly dimensions: number;
  readonly model: string;

  constructor(options: HashEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 384;
    if (!Number.isInteger(dimensions) || dimensions <= 0) {
      throw new RangeError(`hash embedder dimensions must be a positive integer, got ${dimensions}`);
    }
    this.dimensions = dimensions;
    this.model = `hash-v1-${dimensions}`;
  }

  embed(texts: readonly string[]): Promise<number[][]> {
    // Reused across texts: allocating a Map per text is a measurable share of the cost at load-test rates.
    const termCounts = new Map<number, number>();
    return Promise.resolve(texts.map((text) => this.embedOne(text, termCounts)));
  }

  private embedOne(text: string, termCounts: Map<number, number>): number[] {
    termCounts.clear();
    for (const [word] of text.toLowerCase().matchAll(WORD_PATTERN)) {
      addFeature(termCounts, hashWord(word));
      // Trigrams of the word padded with boundary markers, so prefixes and suffixes are features of their own
      // and a one-letter word still yields one trigram.
      const paddedLength = word.length + 2;
      for (let start = 0; start + 3 <= paddedLength; start++) {
        let hash = fnvStep(FNV_OFFSET_BASIS, TRIGRAM_NAMESPACE);
        for (let i = start; i < start + 3; i++) {
          hash = fnvStep(hash, i === 0 ? WORD_START : i === paddedLength - 1 ? WORD_END : word.charCodeAt(i - 1));
        }
        addFeature(termCounts, hash);
      }
    }

    const vector = new Array<number>(this.dimensions).fill(0);
    for (const [hash, count] of termCounts) {
      const mixed = avalanche(hash);
      // The top bit gives the sign and the other 31 the bucket, so the two are independent; signed buckets
      // make collisions cancel out on average instead of inflating similarity.
      const bucket = (mixed & 0x7fffffff) % this.dimensions;
      const weight = 1 + Math.log(count);
      vector[bucket] += mixed >>> 31 ? -weight : weight;
    }
    return l2Normalize(vector);
  }
}

function hashWord(word: string): number {
  let hash = fnvStep(FNV_OFFSET_BASIS, WORD_NAMESPACE);
  for (let i = 0; i < word.length; i++) hash = fnvStep(hash, word.charCodeAt(i));
  return hash;
}

function addFeature(termCounts: Map<number, number>, hash: number): void {
  termCounts.set(hash, (termCounts.get(hash) ?? 0) + 1);
}
