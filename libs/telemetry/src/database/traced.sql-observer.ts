import { context, trace, SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { SqlObserver } from '@engram/memory-postgres';

/** Enough of a statement to recognise it in a trace; the longest ones (search) are a few kilobytes. */
export const STATEMENT_TEXT_LIMIT = 500;

const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
const FIRST_KEYWORD = /^[A-Za-z]+/;
const IDENTIFIER = String.raw`("?[A-Za-z_][\w$]*"?(?:\."?[A-Za-z_][\w$]*"?)?)`;
const WRITE_TARGET = new RegExp(
  String.raw`^(?:INSERT\s+INTO|UPDATE(?:\s+ONLY)?|DELETE\s+FROM(?:\s+ONLY)?)\s+${IDENTIFIER}`,
  'i',
);
// Only a SELECT with no parenthesis before its FROM: then that FROM is the statement's own, not a subquery's or
// a function's (`extract(epoch FROM ...)`).
const SELECT_SOURCE = new RegExp(String.raw`^SELECT\s[^()]*?\bFROM\s+${IDENTIFIER}`, 'i');

/**
 * One CLIENT span per statement, and one `pg.transaction` span around a transaction's statements, as children of
 * the active span: the SQL of a request or job shows up in its trace.
 *
 * What a span carries is limited to what cannot hold user data: the parameterised text (the values travel apart,
 * in bind parameters, and are never seen here) and, on failure, the SQLSTATE. The error's message is left out, as
 * Postgres quotes the offending value in it (`invalid input syntax for type uuid: "..."`).
 */
export class TracedSqlObserver implements SqlObserver {
  constructor(private readonly tracer: Tracer) {}

  statement<T>(text: string, run: () => Promise<T>): Promise<T> {
    const parent = context.active();
    // Statements of untraced background work (access-count flush, purger) would each make a one-span trace.
    if (trace.getSpan(parent) === undefined) return run();
    const { name, attributes } = describeStatement(text);
    return endedAfter(this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent), run);
  }

  transaction<T>(run: () => Promise<T>): Promise<T> {
    const parent = context.active();
    if (trace.getSpan(parent) === undefined) return run();
    const span = this.tracer.startSpan(
      'pg.transaction',
      { kind: SpanKind.CLIENT, attributes: { 'db.system': 'postgresql' } },
      parent,
    );
    return context.with(trace.setSpan(parent, span), () => endedAfter(span, run));
  }
}

/**
 * The span name and attributes of a statement: `<OPERATION> <table>` when the table is plain to see from the text
 * (INSERT, UPDATE, DELETE, a simple SELECT), else the operation alone.
 */
export function describeStatement(text: string): { name: string; attributes: Attributes } {
  const statement = text.replace(LEADING_COMMENTS, '');
  const operation = FIRST_KEYWORD.exec(statement)?.[0].toUpperCase();
  const attributes: Attributes = {
    'db.system': 'postgresql',
    'db.statement': text.length > STATEMENT_TEXT_LIMIT ? text.slice(0, STATEMENT_TEXT_LIMIT) : text,
  };
  if (operation === undefined) return { name: 'pg.query', attributes };
  attributes['db.operation'] = operation;
  const head = statement.slice(0, STATEMENT_TEXT_LIMIT);
  const table = (operation === 'SELECT' ? SELECT_SOURCE : WRITE_TARGET).exec(head)?.[1]?.replaceAll('"', '');
  if (table === undefined) return { name: operation, attributes };
  attributes['db.sql.table'] = table;
  return { name: `${operation} ${table}`, attributes };
}

async function endedAfter<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const sqlState = sqlStateOf(error);
    if (sqlState !== undefined) span.setAttribute('db.response.status_code', sqlState);
    span.setAttribute('error.type', sqlState ?? (error instanceof Error ? error.name : 'unknown'));
    span.setStatus({ code: SpanStatusCode.ERROR, message: sqlState });
    throw error;
  } finally {
    span.end();
  }
}

/** pg's errors carry the SQLSTATE (`23505`) or, for a socket failure, the Node error code (`ECONNREFUSED`). */
function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
