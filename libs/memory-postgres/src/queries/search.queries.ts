import {
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
 * - keyword: kw = Postgres full text. The query's words become lexemes with the english configuration and are
 *   OR-ed (any word may match, as in BM25), ranked by ts_rank_cd normalised by document length (flag 1); the
 *   keyword mode's score is kw / (kw + 1).
 * - hybrid: the fusion every provider shares (memory-core search/hybrid-fusion.ts): over the union of each leg's
 *   top P candidates, (wK·kw/max kw + wV·cos/max cos + wS·speaker) / (the weights of the signals present), with
 *   each candidate's real kw and cos (not only those of the leg that found it) and the speaker-label signal of
 *   search/speaker-label.ts.
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

  const ctes: string[] = [];
  const vector = query.mode === 'keyword' ? null : vectorLeg(query, where, candidates, strategy, p);
  const keyword = query.mode === 'vector' ? null : keywordLeg(query.text, where, candidates, p);
  if (vector) ctes.push(...vector.ctes);
  if (keyword) ctes.push(...keyword.ctes);

  if (vector && keyword) {
    ctes.push(...hybridFusion(query.text, vector.cosine, keyword.rank, tenant, p));
  } else if (vector) {
    ctes.push(`relevance AS (SELECT id, importance, created_at, cos AS relevance FROM vector_candidates)`);
  } else {
    ctes.push(`relevance AS (SELECT id, importance, created_at, kw / (kw + 1) AS relevance FROM keyword_candidates)`);
  }

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
  return { text, values: p.values };
}

interface VectorLeg {
  ctes: string[];
  /** cos of the row `m`: NULL unless it has a vector of the query's model and dimension. */
  cosine: string;
}

/**
 * The vector leg: `vector_candidates(id, importance, created_at, cos)`, its top P. The distance expression and the
 * dimension predicate are exactly those of the HNSW index (`ensureVectorIndex`), which the planner needs to use it.
 *
 * - `exact`: the scope's rows are materialised first (through the btree scope indexes) and sorted: the
 *   MATERIALIZED fence keeps the planner from turning this into an HNSW scan. Perfect recall; cost grows with the
 *   scope.
 * - `hnsw`: ORDER BY distance LIMIT P straight on the table, which the planner answers with the HNSW index; the
 *   caller enables pgvector 0.8's iterative scan, so rows the scope or filter rejects do not shorten the list.
 *   Relaxed order returns candidates nearly sorted; everything after this ranks by score itself.
 */
function vectorLeg(
  query: ValidSearchQuery,
  where: string,
  candidates: string,
  strategy: VectorStrategy,
  p: SqlParams,
): VectorLeg {
  if (!query.embedding) throw new Error(`search mode ${query.mode} needs the query's embedding`);
  const dimensions = query.embedding.vector.length;
  const type = vectorType(dimensions);
  const distance = `(m.embedding::${type} <=> ${p.add(formatVector(query.embedding.vector))}::${type})`;
  const model = p.add(query.embedding.model);
  const comparable = `m.embedding_dimensions = ${dimensions} AND m.embedding_model = ${model}::text`;
  const cos = clampedCosine(distance);
  const ctes =
    strategy === 'exact'
      ? [
          `vector_scope AS MATERIALIZED (
            SELECT ${CANDIDATE_COLUMNS}, ${cos} AS cos FROM memories m WHERE ${where} AND ${comparable}
          )`,
          `vector_candidates AS (SELECT * FROM vector_scope ORDER BY cos DESC, id DESC LIMIT ${candidates}::int)`,
        ]
      : [
          `vector_candidates AS MATERIALIZED (
            SELECT ${CANDIDATE_COLUMNS}, ${cos} AS cos FROM memories m WHERE ${where} AND ${comparable}
            ORDER BY ${distance} LIMIT ${candidates}::int
          )`,
        ];
  return { ctes, cosine: `CASE WHEN ${comparable} THEN ${cos} END` };
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
 * The keyword leg: `keyword_candidates(id, importance, created_at, kw)`, its top P. The tsquery is built in SQL
 * from the query's own lexemes (to_tsvector, so stemming and stop words are exactly those of the indexed column),
 * each quoted as a tsquery literal and joined with `|`: nothing the caller writes is ever parsed as tsquery syntax.
 * No lexeme at all gives a NULL query, which matches nothing. The query is an uncorrelated subquery (an InitPlan),
 * which the GIN index can use.
 */
function keywordLeg(text: string, where: string, candidates: string, p: SqlParams): KeywordLeg {
  const quotedLexeme = String.raw`'''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''`;
  const tsquery = '(SELECT query FROM keyword_query)';
  const kw = `ts_rank_cd('{1,1,1,1}'::float4[], m.search_tsv, ${tsquery}, 1)::float8`;
  return {
    ctes: [
      `keyword_query AS (
        SELECT (SELECT string_agg(${quotedLexeme}, ' | ')
          FROM unnest(tsvector_to_array(to_tsvector('english', ${p.add(text)}::text))) AS lexeme)::tsquery AS query
      )`,
      `keyword_candidates AS (
        SELECT ${CANDIDATE_COLUMNS}, ${kw} AS kw FROM memories m WHERE ${where} AND m.search_tsv @@ ${tsquery}
        ORDER BY kw DESC, m.id DESC LIMIT ${candidates}::int
      )`,
    ],
    rank: `CASE WHEN m.search_tsv @@ ${tsquery} THEN ${kw} END`,
  };
}

/**
 * Hybrid relevance (hybrid-fusion.ts): the union of both legs' candidates, each with its real kw, cos and speaker
 * signal; each leg divided by its maximum over the candidates (which is the leg's maximum: it is in its own top P);
 * the weights of the signals no candidate has left out of the denominator, so that the score stays in [0, 1] and
 * a memory first in both legs scores 1 when no speaker is named.
 */
function hybridFusion(text: string, cosine: string, rank: string, tenant: string, p: SqlParams): string[] {
  const speaker = speakerNamedSql('m.content', text, p);
  const wK = p.add(HYBRID_WEIGHTS.keyword);
  const wV = p.add(HYBRID_WEIGHTS.vector);
  const wS = p.add(HYBRID_WEIGHTS.speaker);
  return [
    `candidates AS (SELECT id FROM keyword_candidates UNION SELECT id FROM vector_candidates)`,
    `signals AS (
      SELECT m.id, m.importance, m.created_at, ${rank} AS kw, ${cosine} AS cos, ${speaker} AS spk
      FROM candidates c JOIN memories m ON m.tenant_id = ${tenant}::uuid AND m.id = c.id
    )`,
    `signal_maxima AS (
      SELECT *, max(kw) OVER () AS max_kw, max(cos) OVER () AS max_cos, bool_or(spk) OVER () AS any_spk
      FROM signals
    )`,
    `weighted AS (
      SELECT *, CASE WHEN max_kw > 0 THEN ${wK}::float8 ELSE 0 END + CASE WHEN max_cos > 0 THEN ${wV}::float8 ELSE 0 END
        + CASE WHEN any_spk THEN ${wS}::float8 ELSE 0 END AS total
      FROM signal_maxima
    )`,
    `relevance AS (
      SELECT id, importance, created_at, CASE WHEN total = 0 THEN 0::float8 ELSE LEAST(1::float8, (
          ${wK}::float8 * CASE WHEN max_kw > 0 THEN COALESCE(kw, 0) / max_kw ELSE 0 END
          + ${wV}::float8 * CASE WHEN max_cos > 0 THEN COALESCE(cos, 0) / max_cos ELSE 0 END
          + ${wS}::float8 * CASE WHEN spk THEN 1 ELSE 0 END) / total) END AS relevance
      FROM weighted
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
  // Every word of the label is among the query's words; no label has no words, and that is false.
  return `COALESCE((SELECT bool_and(word[1] = ANY(${words}::text[]))
      FROM regexp_matches(${label}, '[[:alnum:]]+', 'g') AS word), false)`;
}
