import type { MemoryScope } from '@engram/memory-core';
import { SqlParams } from '../filters/sql-params.js';
import type { SqlStatement } from './memory.queries.js';
import { scopeSql } from './scope.sql.js';

/**
 * The statements behind the in-memory copies of large scopes (search/scope-index.cache.ts). A copy is valid while
 * the version of its user's bucket (migration MemoryScopeVersions) is the one it was read at.
 */

/** The bucket of a user id, exactly as the triggers of the MemoryScopeVersions migration compute it. */
function bucketSql(userId: string, p: SqlParams): string {
  return `hashtext(${p.add(userId)}::text) & 1023`;
}

function requireUser(scope: MemoryScope): string {
  if (scope.userId === undefined) throw new Error('only a scope that names a user has a version');
  return scope.userId;
}

/**
 * The scope's current version (as text: a bigint; NULL while nothing of the bucket was written since the
 * migration) and, for a search with a keyword leg, the query's lexemes as to_tsvector gives them (the same
 * `keyword_query` the search statement uses). One round trip before every search from a copy.
 */
export function probeScopeVersion(scope: MemoryScope, text: string | null): SqlStatement {
  const p = new SqlParams();
  const version = `(SELECT v.version::text FROM memory_scope_versions v
      WHERE v.tenant_id = ${p.add(scope.tenantId)}::uuid AND v.bucket = ${bucketSql(requireUser(scope), p)})`;
  const lexemes = text === null ? 'NULL::text[]' : `tsvector_to_array(to_tsvector('english', ${p.add(text)}::text))`;
  return { text: `SELECT ${version} AS version, ${lexemes} AS lexemes`, values: p.values, prepare: true };
}

/**
 * What a search ranks by, of every memory of the scope, expired ones included (a copy outlives the moment it was
 * read at; the search drops them by its own clock): the vector in pgvector's binary form, which the driver hands
 * over as bytes (its text form would be parsed number by number), the lexemes with their frequencies, and the
 * content only when it may carry a speaker label.
 */
export function selectScopeIndexRows(scope: MemoryScope): SqlStatement {
  const p = new SqlParams();
  const text = `SELECT m.id, m.created_at, m.importance, m.expires_at, m.embedding_model,
      CASE WHEN m.embedding IS NOT NULL THEN vector_send(m.embedding) END AS vector,
      CASE WHEN strpos(m.content, ':') > 0 THEN m.content END AS labelled,
      ARRAY(SELECT t.lexeme FROM unnest(m.search_tsv) AS t) AS lexemes,
      ARRAY(SELECT COALESCE(cardinality(t.positions), 1) FROM unnest(m.search_tsv) AS t) AS frequencies
    FROM memories m WHERE ${scopeSql(scope, p)}`;
  return { text, values: p.values };
}
