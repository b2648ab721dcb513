import { fuseHybrid, namesSpeaker, queryWords, speakerLabelWords, type ValidSearchQuery } from '@engram/memory-core';
import { BM25_B, BM25_K1, RECENCY_HALF_LIFE_DAYS, searchCandidates } from '../queries/search.queries.js';

/** One memory of a scope as `selectScopeIndexRows` reads it: what a search ranks by, nothing it returns. */
export interface ScopeIndexRow {
  id: string;
  created_at: Date;
  importance: number;
  expires_at: Date | null;
  embedding_model: string | null;
  /** pgvector's binary form (`vector_send`): int16 dimensions, int16 unused, then big-endian float4s. */
  vector: Uint8Array | null;
  /** The content when it may carry a speaker label (it has a colon), else null. */
  labelled: string | null;
  /** search_tsv's lexemes, and for each its number of positions (the term frequency the statement uses). */
  lexemes: string[];
  frequencies: number[];
}

/** A memory's id and score, ranked as the search statement ranks them. */
export interface ScopeSearchHit {
  id: string;
  score: number;
}

interface Postings {
  rows: Int32Array;
  frequencies: Float64Array;
}

const DAY_MS = 86_400_000;

/**
 * A scope's search data in memory, and the search statement of queries/search.queries.ts (the exact path:
 * BM25 over the scope, every cosine, the hybrid fusion of memory-core) computed over it. The statement reads
 * ~10,000 heap rows of ~2 KB for a scope of 10,000 memories on every search (~20 ms on two cores, see
 * docs/benchmarks.md); here the same ranking takes a few milliseconds, and the database only returns the results.
 *
 * Scores agree with the statement's to floating-point rounding (pgvector sums in float4): the same lexemes (read
 * from search_tsv, and the query's from to_tsvector), the same BM25 constants, the same clamped cosine, the same
 * fusion (memory-core's `fuseHybrid`, which the statement spells in SQL), the same re-weighting and order.
 * Filters are not evaluated here: a filtered search goes to the statement.
 *
 * Immutable once built: a scope that changed is built again (scope-index.cache.ts decides when).
 */
export class ScopeSearchIndex {
  private constructor(
    private readonly ids: readonly string[],
    /** Position of each row's id in ascending id order: `id DESC` ties compare integers, not strings. */
    private readonly idRank: Int32Array,
    private readonly createdAt: Float64Array,
    private readonly importance: Float64Array,
    /** Infinity for memories that never expire. */
    private readonly expiresAt: Float64Array,
    private readonly anyExpiry: boolean,
    /** Index into `models`, -1 without a vector. */
    private readonly modelOf: Int32Array,
    private readonly models: readonly string[],
    private readonly dimensionsOf: Int32Array,
    private readonly offsets: Int32Array,
    /** Every vector scaled to length 1 (a zero vector stays zero: it has no direction and is similar to nothing). */
    private readonly units: Float32Array,
    private readonly lexemeCounts: Int32Array,
    private readonly postings: ReadonlyMap<string, Postings>,
    private readonly speakers: ReadonlyMap<number, readonly string[]>,
    /** Roughly what the copy costs in memory, for the cache's budget. */
    readonly bytes: number,
  ) {}

  static build(rows: readonly ScopeIndexRow[]): ScopeSearchIndex {
    const n = rows.length;
    const ids = rows.map((row) => row.id);
    const idRank = new Int32Array(n);
    [...ids.keys()]
      .sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0))
      .forEach((row, rank) => {
        idRank[row] = rank;
      });
    const createdAt = new Float64Array(n);
    const importance = new Float64Array(n);
    const expiresAt = new Float64Array(n);
    const modelOf = new Int32Array(n).fill(-1);
    const dimensionsOf = new Int32Array(n);
    const offsets = new Int32Array(n + 1);
    const lexemeCounts = new Int32Array(n);
    const models: string[] = [];
    const modelIndex = new Map<string, number>();
    const speakers = new Map<number, readonly string[]>();
    const postingLists = new Map<string, { rows: number[]; frequencies: number[] }>();
    let anyExpiry = false;
    let totalDimensions = 0;

    rows.forEach((row, i) => {
      createdAt[i] = row.created_at.getTime();
      importance[i] = Number(row.importance);
      expiresAt[i] = row.expires_at === null ? Infinity : row.expires_at.getTime();
      anyExpiry ||= row.expires_at !== null;
      if (row.vector !== null && row.embedding_model !== null) {
        let model = modelIndex.get(row.embedding_model);
        if (model === undefined) {
          model = models.push(row.embedding_model) - 1;
          modelIndex.set(row.embedding_model, model);
        }
        modelOf[i] = model;
        dimensionsOf[i] = vectorDimensions(row.vector);
      }
      offsets[i] = totalDimensions;
      totalDimensions += dimensionsOf[i];
      lexemeCounts[i] = row.lexemes.length;
      row.lexemes.forEach((lexeme, j) => {
        let list = postingLists.get(lexeme);
        if (!list) postingLists.set(lexeme, (list = { rows: [], frequencies: [] }));
        list.rows.push(i);
        list.frequencies.push(Math.max(1, row.frequencies[j] ?? 1));
      });
      if (row.labelled !== null) {
        const words = speakerLabelWords(row.labelled);
        if (words.length > 0) speakers.set(i, words);
      }
    });
    offsets[n] = totalDimensions;

    const units = new Float32Array(totalDimensions);
    rows.forEach((row, i) => {
      if (modelOf[i] >= 0 && row.vector) readUnitVector(row.vector, units, offsets[i], dimensionsOf[i]);
    });

    const postings = new Map<string, Postings>();
    let postingCount = 0;
    let lexemeBytes = 0;
    for (const [lexeme, list] of postingLists) {
      postings.set(lexeme, { rows: Int32Array.from(list.rows), frequencies: Float64Array.from(list.frequencies) });
      postingCount += list.rows.length;
      lexemeBytes += 64 + 2 * lexeme.length;
    }
    const bytes = units.byteLength + n * (6 * 8 + 80) + postingCount * 12 + lexemeBytes + speakers.size * 64;
    return new ScopeSearchIndex(
      ids,
      idRank,
      createdAt,
      importance,
      expiresAt,
      anyExpiry,
      modelOf,
      models,
      dimensionsOf,
      offsets,
      units,
      lexemeCounts,
      postings,
      speakers,
      bytes,
    );
  }

  get size(): number {
    return this.ids.length;
  }

  /**
   * The search statement's answer for an unfiltered query at `now`. `queryLexemes` are the english configuration's
   * lexemes of the query's text (`to_tsvector`), which only the database computes exactly as it indexed the rows.
   */
  search(query: ValidSearchQuery, queryLexemes: readonly string[], now: Date): ScopeSearchHit[] {
    if (query.filter !== undefined) throw new Error('a filtered search is answered by the search statement');
    const nowMs = now.getTime();
    const live = this.liveRows(nowMs);
    const perLeg = searchCandidates(query.limit);
    const keyword = query.mode === 'vector' ? null : this.keywordScores(queryLexemes, live);
    const vector = query.mode === 'keyword' ? null : this.vectorScores(query, live);

    let relevance: Map<number, number>;
    if (keyword && vector) {
      relevance = this.hybrid(query, keyword, vector, perLeg);
    } else if (keyword) {
      relevance = new Map(this.top(keyword, perLeg).map((row) => [row, keyword[row] / (keyword[row] + 1)]));
    } else if (vector) {
      relevance = new Map(this.top(vector, perLeg).map((row) => [row, vector[row]]));
    } else {
      relevance = new Map();
    }

    const relevanceWeight = 1 - query.recencyWeight - query.importanceWeight;
    const hits: Array<{ row: number; score: number }> = [];
    for (const [row, value] of relevance) {
      const ageDays = Math.max(0, nowMs - this.createdAt[row]) / DAY_MS;
      const score = Math.min(
        1,
        Math.max(
          0,
          value * relevanceWeight +
            query.recencyWeight * Math.pow(0.5, ageDays / RECENCY_HALF_LIFE_DAYS) +
            query.importanceWeight * (this.importance[row] / 10),
        ),
      );
      if (query.threshold !== undefined && score < query.threshold) continue;
      hits.push({ row, score });
    }
    hits.sort((a, b) => b.score - a.score || this.idRank[b.row] - this.idRank[a.row]);
    return hits.slice(0, query.limit).map(({ row, score }) => ({ id: this.ids[row], score }));
  }

  /** The rows not expired at `nowMs`, or null when none of the scope can expire (every row is live). */
  private liveRows(nowMs: number): Uint8Array | null {
    if (!this.anyExpiry) return null;
    const live = new Uint8Array(this.ids.length);
    for (let i = 0; i < live.length; i++) live[i] = this.expiresAt[i] > nowMs ? 1 : 0;
    return live;
  }

  /**
   * BM25 of every live row that holds a query lexeme (NaN elsewhere): document frequencies, count and average
   * length over the live rows, the length being the number of distinct lexemes, as the statement's keyword leg.
   */
  private keywordScores(queryLexemes: readonly string[], live: Uint8Array | null): Float64Array {
    const n = this.ids.length;
    const scores = new Float64Array(n).fill(NaN);
    let count = n;
    let totalLength = 0;
    for (let i = 0; i < n; i++) {
      if (live && !live[i]) count--;
      else totalLength += this.lexemeCounts[i];
    }
    const averageLength = count > 0 && totalLength > 0 ? totalLength / count : 1;
    for (const lexeme of new Set(queryLexemes)) {
      const postings = this.postings.get(lexeme);
      if (!postings) continue;
      let df = 0;
      for (const row of postings.rows) if (!live || live[row]) df++;
      if (df === 0) continue;
      const idf = Math.log(1 + (count - df + 0.5) / (df + 0.5));
      for (let j = 0; j < postings.rows.length; j++) {
        const row = postings.rows[j];
        if (live && !live[row]) continue;
        const tf = postings.frequencies[j];
        const norm = 1 - BM25_B + (BM25_B * this.lexemeCounts[row]) / averageLength;
        const term = (idf * tf * (BM25_K1 + 1)) / (tf + BM25_K1 * norm);
        scores[row] = Number.isNaN(scores[row]) ? term : scores[row] + term;
      }
    }
    return scores;
  }

  /** max(0, cosine) of every live row with a vector of the query's model and dimension (NaN elsewhere). */
  private vectorScores(query: ValidSearchQuery, live: Uint8Array | null): Float64Array {
    if (!query.embedding) throw new Error(`search mode ${query.mode} needs the query's embedding`);
    const n = this.ids.length;
    const scores = new Float64Array(n).fill(NaN);
    const model = this.models.indexOf(query.embedding.model);
    if (model < 0) return scores;
    const dimensions = query.embedding.vector.length;
    const q = new Float64Array(dimensions);
    let norm = 0;
    for (let d = 0; d < dimensions; d++) norm += query.embedding.vector[d] * query.embedding.vector[d];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let d = 0; d < dimensions; d++) q[d] = query.embedding.vector[d] / norm;
    const units = this.units;
    // Four running sums, so that consecutive multiply-adds do not wait on each other (~2x on this loop, which is
    // most of a search: 10,000 rows of 384 dimensions).
    const tail = dimensions - (dimensions % 4);
    for (let i = 0; i < n; i++) {
      if (this.modelOf[i] !== model || this.dimensionsOf[i] !== dimensions || (live && !live[i])) continue;
      const offset = this.offsets[i];
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let d = 0; d < tail; d += 4) {
        s0 += q[d] * units[offset + d];
        s1 += q[d + 1] * units[offset + d + 1];
        s2 += q[d + 2] * units[offset + d + 2];
        s3 += q[d + 3] * units[offset + d + 3];
      }
      for (let d = tail; d < dimensions; d++) s0 += q[d] * units[offset + d];
      scores[i] = Math.min(1, Math.max(0, s0 + s1 + s2 + s3));
    }
    return scores;
  }

  /**
   * The fusion over the union of each leg's top P, each candidate with both legs' real scores (fuseHybrid only
   * needs the legs' entries for the candidates: each leg's top P, which hold its maximum, plus the other leg's
   * candidates), its speaker signal and its vector for the feedback pass.
   */
  private hybrid(
    query: ValidSearchQuery,
    keyword: Float64Array,
    vector: Float64Array,
    perLeg: number,
  ): Map<number, number> {
    const candidates = [...new Set([...this.top(keyword, perLeg), ...this.top(vector, perLeg)])];
    const keywordLeg = new Map<string, number>();
    const vectorLeg = new Map<string, number>();
    const speaker = new Set<string>();
    const vectors = new Map<string, Float32Array>();
    const words = queryWords(query.text);
    for (const row of candidates) {
      const id = this.ids[row];
      if (!Number.isNaN(keyword[row])) keywordLeg.set(id, keyword[row]);
      if (!Number.isNaN(vector[row])) {
        vectorLeg.set(id, vector[row]);
        vectors.set(id, this.units.subarray(this.offsets[row], this.offsets[row] + this.dimensionsOf[row]));
      }
      const label = this.speakers.get(row);
      if (label && namesSpeaker(label, words)) speaker.add(id);
    }
    const fused = fuseHybrid({ keyword: keywordLeg, vector: vectorLeg, speaker, vectors }, query.limit);
    const rowOf = new Map(candidates.map((row) => [this.ids[row], row]));
    const relevance = new Map<number, number>();
    for (const [id, value] of fused) relevance.set(rowOf.get(id)!, value);
    return relevance;
  }

  /** The rows with a score (not NaN), best `count` first: score descending, then id descending, as in SQL. */
  private top(scores: Float64Array, count: number): number[] {
    // A bounded min-heap on (score, id): most rows lose against its root in one comparison.
    const heap: number[] = [];
    const worse = (a: number, b: number): boolean =>
      scores[a] < scores[b] || (scores[a] === scores[b] && this.idRank[a] < this.idRank[b]);
    for (let row = 0; row < scores.length; row++) {
      if (Number.isNaN(scores[row])) continue;
      if (heap.length < count) {
        heap.push(row);
        siftUp(heap, heap.length - 1, worse);
      } else if (count > 0 && worse(heap[0], row)) {
        heap[0] = row;
        siftDown(heap, 0, worse);
      }
    }
    return heap.sort((a, b) => (worse(a, b) ? 1 : worse(b, a) ? -1 : 0));
  }
}

function vectorDimensions(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getInt16(0);
}

/** Reads pgvector's binary form into `target` at `offset`, scaled to length 1. */
function readUnitVector(bytes: Uint8Array, target: Float32Array, offset: number, dimensions: number): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let norm = 0;
  for (let d = 0; d < dimensions; d++) {
    const x = view.getFloat32(4 + 4 * d);
    target[offset + d] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm);
  if (norm > 0) for (let d = 0; d < dimensions; d++) target[offset + d] /= norm;
}

function siftUp(heap: number[], index: number, worse: (a: number, b: number) => boolean): void {
  while (index > 0) {
    const parent = (index - 1) >> 1;
    if (!worse(heap[index], heap[parent])) return;
    [heap[index], heap[parent]] = [heap[parent], heap[index]];
    index = parent;
  }
}

function siftDown(heap: number[], index: number, worse: (a: number, b: number) => boolean): void {
  for (;;) {
    const left = 2 * index + 1;
    const right = left + 1;
    let smallest = index;
    if (left < heap.length && worse(heap[left], heap[smallest])) smallest = left;
    if (right < heap.length && worse(heap[right], heap[smallest])) smallest = right;
    if (smallest === index) return;
    [heap[index], heap[smallest]] = [heap[smallest], heap[index]];
    index = smallest;
  }
}
