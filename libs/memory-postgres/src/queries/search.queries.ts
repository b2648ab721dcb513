import {
  HYBRID_FEEDBACK_DOCS,
  HYBRID_FEEDBACK_WEIGHT,
  HYBRID_WEIGHTS,
  hybridCandidatesPerLeg,
  queryWords,
  type MemoryScope,
  type ValidSearchQuery,
} from '@engram/memory-core';
import { compileFilter, LOWER_COLLATION } from '../filters/filter.sql-compiler.js';
import { SqlParams } from '../filters/sql-params.js';
import { vectorType } from '../schema/vector-index.js';
import { formatVector, memoryColumns } from './memory-row.mapper.js';
import type { SqlStatement } from './memory.queries.js';
import { liveSql, scopeSql } from './scope.sql.js';

/**
 * Search as ONE statement, scoring exactly as the reference provider (LocalMemoryProvider) does, so that results
 * rank alike and a threshold means the same on every backend:
 *
 * - vector: cos = max(0, cosine similarity) = clamp(1 − cosine distance); a zero vector (no direction: pgvector
 *   gives NaN) scores 0. Only vectors of the query's model and dimension take part.
 * - keyword: kw = BM25 (k1 1.2, b 0.05, IDF over the scope), as the reference computes it, over the english
 *   configuration's lexemes of the query's words (OR-ed: any word may match) for a small scope (`exact`, see
 *   `scopedRelevance`); for a large one (`hnsw`) ts_rank_cd without length normalisation through the GIN index.
 *   The keyword mode's score is kw / (kw + 1).
 * - hybrid: the fusion every provider shares (memory-core search/hybrid-fusion.ts): over the union of each leg's
 *   top P candidates, (wK·kw/max kw + wV·cos/max cos + wS·speaker) / (the weights of the signals present), with
 *   each candidate's real kw and cos (not only those of the leg that found it) and the speaker-label signal of
 *   search/speaker-label.ts; then the feedback pass, the same fusion again with each cos moved by the candidate's
 *   mean similarity to the first pass's top 3 (see `hybridFusion`).
 * - then `relevance·(1 − rw − iw) + rw·0.5^(ageDays/30) + iw·importance/10`, clamped to [0, 1], the threshold,
 *   and the limit; equal scores newest first (uuid v7 ids: `id DESC`).
 *
 * Each leg contributes its top P = max(100, 2·limit) memories (`searchCandidates`), as in the reference.
 */

/** Recency halves every 30 days, as in the local provider. */
export const RECENCY_HALF_LIFE_DAYS = 30;

/**
 * search/speaker-label.ts's label rule as a PostgreSQL regular expression (its group is the label): a letter,
 * at most 39 more characters without colon or newline, then a colon followed by white space or the end.
 * `[[:alpha:]]` follows the database's character classification, which is Unicode-aware except under the plain
 * "C" locale (there, only ASCII names are recognised as labels).
 */
export const SPEAKER_LABEL_PATTERN = String.raw`^\s*([[:alpha:]][^:\n]{0,39}):(?=\s|$)`;

/** How the vector leg finds its candidates; see `PostgresMemoryProvider.search` for the choice. */
export type VectorStrategy = 'exact' | 'hnsw';

/** Candidates per leg: the reference's pool (hybridCandidatesPerLeg), for every mode. */
export function searchCandidates(limit: number): number {
  return hybridCandidatesPerLeg(limit);
}

export interface SearchStatementInput {
  scope: MemoryScope;
  query: ValidSearchQuery;
  now: Date;
  strategy: VectorStrategy;
}

/** What each leg carries per candidate besides its score: enough to re-weight it. */
const CANDIDATE_COLUMNS = 'm.id, m.importance, m.created_at';

export function searchMemories({ scope, query, now, strategy }: SearchStatementInput): SqlStatement {
  const p = new SqlParams();
  const candidates = p.add(searchCandidates(query.limit));
  const filter = query.filter ? ` AND (${compileFilter(query.filter, p, 'm')})` : '';
  // Scope, expiry and filter: the same predicates in both legs, written once (the legs share the parameters).
  const where = `${scopeSql(scope, p)} AND ${liveSql(now, p)}${filter}`;
  const tenant = p.add(scope.tenantId);

  const ctes =
    strategy === 'exact'
      ? scopedRelevance(query, where, candidates, tenant, p)
      : indexedRelevance(query, where, candidates, tenant, p);

  // Re-weighting, threshold and limit over the candidates' few columns; full rows are read for the results only.
  const relevanceWeight = 1 - query.recencyWeight - query.importanceWeight;
  const threshold = query.threshold === undefined ? '' : `WHERE score >= ${p.add(query.threshold)}::float8`;
  ctes.push(`scored AS (
    SELECT id, score FROM (
      SELECT id, LEAST(1::float8, GREATEST(0::float8,
          relevance * ${p.add(relevanceWeight)}::float8
          + ${p.add(query.recencyWeight)}::float8 * power(0.5::float8,
              GREATEST(0::float8, extract(epoch FROM (${p.add(now)}::timestamptz - created_at))::float8)
              / 86400 / ${RECENCY_HALF_LIFE_DAYS})
          + ${p.add(query.importanceWeight)}::float8 * (importance::float8 / 10))) AS score
      FROM relevance) r
    ${threshold}
    ORDER BY score DESC, id DESC LIMIT ${p.add(query.limit)}::int
  )`);

  const text = `WITH ${ctes.join(',\n')}
    SELECT ${memoryColumns('m')}, s.score
    FROM scored s JOIN memories m ON m.tenant_id = ${tenant}::uuid AND m.id = s.id
    ORDER BY s.score DESC, m.id DESC`;
  // Planning this statement's CTEs costs about as much as running it on a small scope (measured: 3.3 ms a search of
  // 100 memories, 1.6 ms prepared). Without a filter its text is one of a few shapes (mode, strategy, threshold, the
  // scope's fields), so it is kept prepared; a filter's shape is the caller's, and its statements are not.
  return { text, values: p.values, prepare: query.filter === undefined };
}

/**
 * BM25 as the reference provider computes it (local/local-search.ts: k1 1.2, b 0.05, Lucene's IDF, document
 * frequencies and average length over the scope). The terms are the english configuration's lexemes (Snowball
 * stemming, Postgres' stop words), a document's length its number of distinct lexemes (`length(tsvector)`): with
 * b = 0.05 the length only breaks ties.
 */
export const BM25_K1 = 1.2;
export const BM25_B = 0.05;

/**
 * ts_rank_cd's normalisation for a large scope's keyword leg: 0, none. Memories are short, and a longer one says
 * more rather than repeating itself (the reason for BM25's b = 0.05). On the locomo-dev set with every scope forced
 * down this path, keyword R@10 / MRR: flag 1 (divide by 1 + log length) 0.527 / 0.363, flag 0 0.577 / 0.424
 * (BM25 on the small-scope path: 0.637 / 0.492).
 */
export const TS_RANK_NORMALIZATION = 0;

/**
 * A small scope (`exact`): its rows are read ONCE, into one MATERIALIZED CTE holding what both legs need (the
 * cosine, computed there, and the tsvector of the rows that match a query word), and both legs are ranked from it:
 *
 * - vector: every cosine of the scope, sorted (perfect recall). The fence keeps the planner off the HNSW index.
 * - keyword: true BM25 over the scope, as the reference provider computes it: the query's lexemes are looked up
 *   in the matching rows' tsvectors (term frequency = the lexeme's positions), document frequencies counted over
 *   the scope, IDF and length normalisation as in local-search.ts. The GIN index is not used: it would find every
 *   row of the table with a common word and then drop the other scopes' rows.
 */
function scopedRelevance(
  query: ValidSearchQuery,
  where: string,
  candidates: string,
  tenant: string,
  p: SqlParams,
): string[] {
  const ctes: string[] = [];
  const withVector = query.mode !== 'keyword';
  const withKeyword = query.mode !== 'vector';
  const columns = [CANDIDATE_COLUMNS];
  let scopeWhere = where;
  if (withKeyword) {
    ctes.push(keywordQuery(query.text, p));
    const tsquery = '(SELECT query FROM keyword_query)';
    columns.push(`CASE WHEN m.search_tsv @@ ${tsquery} THEN m.search_tsv END AS tsv`, 'length(m.search_tsv) AS len');
  }
  const vector = withVector ? vectorExpressions(query, p) : null;
  if (vector) {
    const { cos, comparable } = vector;
    if (withKeyword) {
      columns.push(`CASE WHEN ${comparable} THEN ${cos} END AS cos`);
    } else {
      // Vector mode: only comparable vectors take part, and the scope's index narrows them (no keyword needs the rest).
      columns.push(`${cos} AS cos`);
      scopeWhere = `${where} AND ${comparable}`;
    }
  }
  ctes.push(`scope_rows AS MATERIALIZED (SELECT ${columns.join(', ')} FROM memories m WHERE ${scopeWhere})`);

  if (withKeyword) {
    const k1 = p.add(BM25_K1);
    const b = p.add(BM25_B);
    ctes.push(
      `keyword_terms AS MATERIALIZED (
        SELECT s.id, s.len, t.lexeme, GREATEST(1, COALESCE(cardinality(t.positions), 1))::float8 AS tf
        FROM scope_rows s CROSS JOIN LATERAL unnest(s.tsv) AS t(lexeme, positions, weights)
        WHERE s.tsv IS NOT NULL AND t.lexeme = ANY((SELECT lexemes FROM keyword_query)::text[])
      )`,
      `keyword_scores AS MATERIALIZED (
        SELECT t.id, sum(ln(1 + (st.n - d.df + 0.5) / (d.df + 0.5))
            * t.tf * (${k1}::float8 + 1) / (t.tf + ${k1}::float8 * (1 - ${b}::float8 + ${b}::float8 * t.len / st.avg_len))) AS kw
        FROM keyword_terms t
          JOIN (SELECT lexeme, count(*)::float8 AS df FROM keyword_terms GROUP BY lexeme) d ON d.lexeme = t.lexeme
          CROSS JOIN (SELECT count(*)::float8 AS n, COALESCE(NULLIF(avg(len), 0), 1)::float8 AS avg_len FROM scope_rows) st
        GROUP BY t.id
      )`,
      `keyword_candidates AS (
        SELECT s.id, s.importance, s.created_at, k.kw FROM keyword_scores k JOIN scope_rows s ON s.id = k.id
        ORDER BY k.kw DESC, k.id DESC LIMIT ${candidates}::int
      )`,
    );
  }
  if (withVector) {
    ctes.push(`vector_candidates AS (
      SELECT id, importance, created_at, cos FROM scope_rows WHERE cos IS NOT NULL
      ORDER BY cos DESC, id DESC LIMIT ${candidates}::int
    )`);
  }

  if (vector && withKeyword) {
    // Both legs' scores of every candidate are already in scope_rows / keyword_scores; only the speaker label
    // and the feedback pass need the row (its content, its vector), read for the candidates alone.
    const speaker = speakerNamedSql('m.content', query.text, p);
    const { embedding, comparable } = vector;
    ctes.push(
      `candidates AS (SELECT id FROM keyword_candidates UNION SELECT id FROM vector_candidates)`,
      `signals AS MATERIALIZED (
        SELECT s.id, s.importance, s.created_at, k.kw, s.cos, ${speaker} AS spk,
          CASE WHEN ${comparable} THEN ${embedding} END AS emb
        FROM candidates c JOIN scope_rows s ON s.id = c.id LEFT JOIN keyword_scores k ON k.id = c.id
          JOIN memories m ON m.tenant_id = ${tenant}::uuid AND m.id = c.id
      )`,
      ...hybridFusion(p),
    );
  } else {
    ctes.push(singleLegRelevance(withVector ? 'vector' : 'keyword'));
  }
  return ctes;
}

/**
 * A large scope (`hnsw`): each leg through its index. The vector leg walks HNSW (iterative scan); the keyword leg
 * asks the GIN index for the matching rows and ranks them by ts_rank_cd (document frequencies over a large scope
 * would cost a read of every matching row). Hybrid reads the union's rows once more for both legs' real scores.
 */
function indexedRelevance(
  query: ValidSearchQuery,
  where: string,
  candidates: string,
  tenant: string,
  p: SqlParams,
): string[] {
  const ctes: string[] = [];
  const vector = query.mode === 'keyword' ? null : vectorLeg(query, where, candidates, p);
  const keyword = query.mode === 'vector' ? null : keywordLeg(query.text, where, candidates, p);
  if (vector) ctes.push(...vector.ctes);
  if (keyword) ctes.push(...keyword.ctes);

  if (vector && keyword) {
    const speaker = speakerNamedSql('m.content', query.text, p);
    ctes.push(
      `candidates AS (SELECT id FROM keyword_candidates UNION SELECT id FROM vector_candidates)`,
      `signals AS MATERIALIZED (
        SELECT m.id, m.importance, m.created_at, ${keyword.rank} AS kw, ${vector.cosine} AS cos, ${speaker} AS spk,
          ${vector.embedding} AS emb
        FROM candidates c JOIN memories m ON m.tenant_id = ${tenant}::uuid AND m.id = c.id
      )`,
      ...hybridFusion(p),
    );
  } else {
    ctes.push(singleLegRelevance(vector ? 'vector' : 'keyword'));
  }
  return ctes;
}

/** Modes `vector` and `keyword`: the one leg's score is the relevance (keyword: its rank mapped into [0, 1)). */
function singleLegRelevance(leg: 'vector' | 'keyword'): string {
  return leg === 'vector'
    ? `relevance AS (SELECT id, importance, created_at, cos AS relevance FROM vector_candidates)`
    : `relevance AS (SELECT id, importance, created_at, kw / (kw + 1) AS relevance FROM keyword_candidates)`;
}

/**
 * The query's distance, clamped cosine and "comparable vector" predicate, exactly as the HNSW index spells them,
 * and the row's vector as that typed expression (`embedding`, meaningful where `comparable` holds).
 */
function vectorExpressions(
  query: ValidSearchQuery,
  p: SqlParams,
): { distance: string; cos: string; comparable: string; embedding: string } {
  if (!query.embedding) throw new Error(`search mode ${query.mode} needs the query's embedding`);
  const dimensions = query.embedding.vector.length;
  const type = vectorType(dimensions);
  const embedding = `m.embedding::${type}`;
  const distance = `(${embedding} <=> ${p.add(formatVector(query.embedding.vector))}::${type})`;
  const model = p.add(query.embedding.model);
  const comparable = `m.embedding_dimensions = ${dimensions} AND m.embedding_model = ${model}::text`;
  return { distance, cos: clampedCosine(distance), comparable, embedding };
}

interface VectorLeg {
  ctes: string[];
  /** cos of the row `m`: NULL unless it has a vector of the query's model and dimension. */
  cosine: string;
  /** The vector of the row `m` as `vector(D)`: NULL unless it is comparable (as for `cosine`). */
  embedding: string;
}

/**
 * The vector leg: `vector_candidates(id, importance, created_at, cos)`, its top P. The distance expression and the
 * dimension predicate are exactly those of the HNSW index (`ensureVectorIndex`), which the planner needs to use it.
 *
 * Only for a large scope (`hnsw`; a small one is read once by `scopedRelevance`): ORDER BY distance LIMIT P
 * straight on the table, which the planner answers with the HNSW index; the caller enables pgvector 0.8's
 * iterative scan, so rows the scope or filter rejects do not shorten the list. Relaxed order returns candidates
 * nearly sorted; everything after this ranks by score itself.
 */
function vectorLeg(query: ValidSearchQuery, where: string, candidates: string, p: SqlParams): VectorLeg {
  const { distance, cos, comparable, embedding } = vectorExpressions(query, p);
  const ctes = [
    `vector_candidates AS MATERIALIZED (
      SELECT ${CANDIDATE_COLUMNS}, ${cos} AS cos FROM memories m WHERE ${where} AND ${comparable}
      ORDER BY ${distance} LIMIT ${candidates}::int
    )`,
  ];
  return {
    ctes,
    cosine: `CASE WHEN ${comparable} THEN ${cos} END`,
    embedding: `CASE WHEN ${comparable} THEN ${embedding} END`,
  };
}

/** max(0, cosine similarity) from pgvector's cosine distance; NaN (a zero vector) counts as 0. */
function clampedCosine(distance: string): string {
  return `LEAST(1::float8, GREATEST(0::float8, 1 - NULLIF(${distance}, 'NaN'::float8)))`;
}

interface KeywordLeg {
  ctes: string[];
  /** kw of the row `m`: NULL unless it matches a word of the query. */
  rank: string;
}

/**
 * The keyword leg of a large scope: `keyword_candidates(id, importance, created_at, kw)`, its top P, found through
 * the GIN index and ranked by ts_rank_cd (document frequencies over a large scope would cost a read of every
 * matching row; a small scope gets true BM25, see `scopedRelevance`).
 */
function keywordLeg(text: string, where: string, candidates: string, p: SqlParams): KeywordLeg {
  const tsquery = '(SELECT query FROM keyword_query)';
  const kw = `ts_rank_cd('{1,1,1,1}'::float4[], m.search_tsv, ${tsquery}, ${TS_RANK_NORMALIZATION})::float8`;
  return {
    ctes: [
      keywordQuery(text, p),
      `keyword_candidates AS (
        SELECT ${CANDIDATE_COLUMNS}, ${kw} AS kw FROM memories m WHERE ${where} AND m.search_tsv @@ ${tsquery}
        ORDER BY kw DESC, m.id DESC LIMIT ${candidates}::int
      )`,
    ],
    rank: `CASE WHEN m.search_tsv @@ ${tsquery} THEN ${kw} END`,
  };
}

/**
 * `keyword_query(lexemes, query)`: the query's own lexemes (to_tsvector, so stemming and stop words are exactly
 * those of the indexed column) and the tsquery that ORs them (any word may match, as in BM25), each quoted as a
 * tsquery literal: nothing the caller writes is ever parsed as tsquery syntax. No lexeme at all gives a NULL
 * query, which matches nothing. Used as an uncorrelated subquery (an InitPlan), which the GIN index can use.
 */
function keywordQuery(text: string, p: SqlParams): string {
  const quotedLexeme = String.raw`'''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''`;
  return `keyword_query AS (
    SELECT q.lexemes, (SELECT string_agg(${quotedLexeme}, ' | ') FROM unnest(q.lexemes) AS lexeme)::tsquery AS query
    FROM (SELECT tsvector_to_array(to_tsvector('english', ${p.add(text)}::text)) AS lexemes) q
  )`;
}

/**
 * Hybrid relevance (hybrid-fusion.ts) over `signals(id, importance, created_at, kw, cos, spk, emb)`: the union of
 * both legs' candidates, each with its real kw, cos and speaker signal and, when comparable, its vector `emb`
 * (MATERIALIZED, so that each is computed once); each leg divided by its maximum over the candidates (which is the
 * leg's maximum: it is in its own top P); the weights of the signals no candidate has left out of the denominator,
 * so that the score stays in [0, 1] and a memory first in both legs scores 1 when no speaker is named.
 *
 * Two passes, as the reference: `first_pass` is that fusion; `feedback` holds the vectors of its top k candidates
 * with a vector (MATERIALIZED: k rows, read once); `second_pass` moves each comparable candidate's cos to
 * max(0, cos + β·avg(1 − distance to the feedback vectors)), k distances per candidate (a zero vector's NaN counts
 * 0, as in the reference); `relevance` is the same fusion again over that cos.
 */
export function hybridFusion(p: SqlParams): string[] {
  const wK = p.add(HYBRID_WEIGHTS.keyword);
  const wV = p.add(HYBRID_WEIGHTS.vector);
  const wS = p.add(HYBRID_WEIGHTS.speaker);
  const fused = (cos: string, maxCos: string): string =>
    `CASE WHEN total = 0 THEN 0::float8 ELSE LEAST(1::float8, (
          ${wK}::float8 * CASE WHEN max_kw > 0 THEN COALESCE(kw, 0) / max_kw ELSE 0 END
          + ${wV}::float8 * CASE WHEN ${maxCos} > 0 THEN COALESCE(${cos}, 0) / ${maxCos} ELSE 0 END
          + ${wS}::float8 * CASE WHEN spk THEN 1 ELSE 0 END) / total) END`;
  const similarity = `COALESCE(1 - NULLIF(s.emb <=> f.emb, 'NaN'::float8), 0)`;
  return [
    `signal_maxima AS (
      SELECT *, max(kw) OVER () AS max_kw, max(cos) OVER () AS max_cos, bool_or(spk) OVER () AS any_spk
      FROM signals
    )`,
    `weighted AS (
      SELECT *, CASE WHEN max_kw > 0 THEN ${wK}::float8 ELSE 0 END + CASE WHEN max_cos > 0 THEN ${wV}::float8 ELSE 0 END
        + CASE WHEN any_spk THEN ${wS}::float8 ELSE 0 END AS total
      FROM signal_maxima
    )`,
    `first_pass AS MATERIALIZED (SELECT *, ${fused('cos', 'max_cos')} AS first_relevance FROM weighted)`,
    `feedback AS MATERIALIZED (
      SELECT emb FROM first_pass WHERE emb IS NOT NULL AND cos IS NOT NULL AND max_cos > 0
      ORDER BY first_relevance DESC, id DESC LIMIT ${p.add(HYBRID_FEEDBACK_DOCS)}::int
    )`,
    `second_pass AS (
      SELECT *, max(cos2) OVER () AS max_cos2 FROM (
        SELECT s.*, CASE WHEN s.emb IS NOT NULL AND s.cos IS NOT NULL THEN GREATEST(0::float8,
            s.cos + ${p.add(HYBRID_FEEDBACK_WEIGHT)}::float8 * (SELECT avg(${similarity}) FROM feedback f)) END AS cos2
        FROM first_pass s) c
    )`,
    `relevance AS (
      SELECT id, importance, created_at,
        CASE WHEN max_cos > 0 THEN ${fused('cos2', 'max_cos2')} ELSE first_relevance END AS relevance
      FROM second_pass
    )`,
  ];
}

/**
 * How many memories the scope holds, counted no further than `cap`: enough to pick the vector strategy, and cheap
 * whatever the scope's size (an index-only walk of at most cap + 1 entries of a scope index).
 */
export function countScopeUpTo(scope: MemoryScope, cap: number): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT count(*)::int AS count FROM (
    SELECT 1 FROM memories m WHERE ${scopeSql(scope, p)} LIMIT ${p.add(cap)}::int) s`;
  return { text, values: p.values, prepare: true };
}

/**
 * The distinct speaker labels of the scope's live memories (`MemoryProvider.speakerLabels`): speaker-label.ts's
 * `speakerLabel`, by SPEAKER_LABEL_PATTERN, as written. A read of the scope's rows through its btree index; the
 * service caches the answer per scope. A label ends at a colon: rows without one skip the regular expression. That
 * test is a CASE, not a WHERE predicate next to `label IS NOT NULL`: the planner pushes that one down and orders
 * the quals by cost as it likes; it ran the expression first, on every row (77 ms instead of 17 ms for a scope of
 * 10,000 memories without a colon).
 */
export function selectSpeakerLabels(scope: MemoryScope, now: Date): SqlStatement {
  const p = new SqlParams();
  const pattern = p.add(SPEAKER_LABEL_PATTERN);
  const label = `CASE WHEN strpos(m.content, ':') > 0 THEN substring(m.content FROM ${pattern}::text) END`;
  const text = `SELECT DISTINCT label FROM (
      SELECT ${label} AS label FROM memories m WHERE ${scopeSql(scope, p)} AND ${liveSql(now, p)}) l
    WHERE label IS NOT NULL`;
  return { text, values: p.values };
}

/**
 * Whether the query `text` names the speaker of the content `content` (an SQL expression): speaker-label.ts's
 * `namesSpeaker(speakerLabelWords(content), queryWords(text))`. The query's words are computed here, by that very
 * code; the label's words in SQL: lower-cased as JavaScript does (the ICU root collation, as the filter compiler's
 * `icontains`) and cut at everything but letters and digits. Never NULL.
 */
export function speakerNamedSql(content: string, text: string, p: SqlParams): string {
  const words = p.add([...queryWords(text)]);
  const label = `lower(substring(${content} FROM ${p.add(SPEAKER_LABEL_PATTERN)}::text) COLLATE "${LOWER_COLLATION}")`;
  // Every word of the label is among the query's words; no label has no words, and that is false. The label's
  // words are the pieces between runs of non-alphanumerics (= the [[:alnum:]]+ matches), empty ends removed: a
  // plain expression, no set-returning function per row.
  const labelWords = `array_remove(regexp_split_to_array(${label}, '[^[:alnum:]]+'), '')`;
  // A label ends at a colon: content without one has none, and skips the regular expression (~10 µs a row).
  return `CASE WHEN strpos(${content}, ':') = 0 THEN false ELSE COALESCE((SELECT cardinality(w) > 0
      AND w <@ ${words}::text[] FROM (SELECT ${labelWords} AS w) l), false) END`;
}
