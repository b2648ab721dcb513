import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { context, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { PgSqlExecutor } from '@engram/memory-postgres';
import { createScratchDatabase, type ScratchDatabase } from '@engram/testing';
import { EngramMetrics } from '../metrics/engram-metrics.js';
import { Tracing } from '../tracing/tracing.js';
import { ObservedSqlInstrumentation } from './observed.sql-instrumentation.js';
import { TracedSqlObserver } from './traced.sql-observer.js';
import { captureSpans } from '../../test/span-capture.js';

/** A value no span may carry: it travels as a bind parameter. */
const SECRET = 'Alice is allergic to penicillin';

/** What an exporter sends of a span, as text. */
function exported(span: ReadableSpan): string {
  const { name, attributes, events, links, status } = span;
  return JSON.stringify({ name, attributes, events, links, status });
}

describe('TracedSqlObserver on a real PgSqlExecutor', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const contextManager = new AsyncLocalStorageContextManager();
  let tracer: Tracer;
  let database: ScratchDatabase;
  let sut: PgSqlExecutor;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager.enable());
    tracer = provider.getTracer('test');
    database = await createScratchDatabase();
    sut = new PgSqlExecutor({ connectionString: database.url, max: 2, observer: new TracedSqlObserver(tracer) });
    await sut.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
  });

  afterAll(async () => {
    await sut?.close();
    await database?.drop();
    await provider.shutdown();
    context.disable();
  });

  afterEach(() => exporter.reset());

  const traced = (work: () => Promise<unknown>) => captureSpans(tracer, provider, exporter, work);

  it('should report a statement as a CLIENT child span with its text and without its parameter values', async () => {
    const { parent, children } = await traced(() =>
      sut.query('INSERT INTO notes (id, body) VALUES ($1, $2)', [1, SECRET]),
    );

    expect(children).toHaveLength(1);
    const [span] = children;
    expect(span.name).toBe('INSERT notes');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    expect(span.attributes).toEqual({
      'db.system': 'postgresql',
      'db.operation': 'INSERT',
      'db.sql.table': 'notes',
      'db.statement': 'INSERT INTO notes (id, body) VALUES ($1, $2)',
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(exported(span)).not.toContain('penicillin');
  });

  it('should mark a failed statement ERROR with its SQLSTATE, and not the message that quotes the value', async () => {
    const { children } = await traced(() => sut.query('SELECT id FROM notes WHERE id = $1::int', [SECRET]));

    const [span] = children;
    expect(span.name).toBe('SELECT notes');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: '22P02' });
    expect(span.attributes).toMatchObject({ 'db.response.status_code': '22P02', 'error.type': '22P02' });
    expect(exported(span)).not.toContain('penicillin');
  });

  it("should group a transaction's statements under one pg.transaction span", async () => {
    const { parent, children } = await traced(() =>
      sut.transaction(async (tx) => {
        await tx.query('UPDATE notes SET body = $1 WHERE id = $2', ['x', 1]);
        await tx.query('SELECT body FROM notes WHERE id = $1', [1]);
      }),
    );

    const transaction = children.find((span) => span.name === 'pg.transaction')!;
    expect(transaction.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    const statements = children.filter((span) => span !== transaction);
    expect(statements.map((span) => span.name)).toEqual(['UPDATE notes', 'SELECT notes']);
    for (const statement of statements) {
      expect(statement.parentSpanContext?.spanId).toBe(transaction.spanContext().spanId);
    }
  });

  it('should mark a rolled-back transaction ERROR, as well as the statement that failed in it', async () => {
    const { children } = await traced(() =>
      sut.transaction((tx) => tx.query('INSERT INTO notes (id, body) VALUES ($1, $2)', [1, SECRET])),
    );

    expect(children.map((span) => [span.name, span.status.code, span.attributes['error.type']])).toEqual([
      ['INSERT notes', SpanStatusCode.ERROR, '23505'],
      ['pg.transaction', SpanStatusCode.ERROR, '23505'],
    ]);
  });

  it('should start no span for a statement outside any traced work', async () => {
    await sut.query('SELECT id FROM notes');
    await sut.transaction((tx) => tx.query('SELECT 1'));
    await provider.forceFlush();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});

describe('ObservedSqlInstrumentation', () => {
  let database: ScratchDatabase;
  let pool: PgSqlExecutor | undefined;

  beforeAll(async () => {
    database = await createScratchDatabase();
  });

  afterAll(async () => {
    await pool?.close();
    await database?.drop();
  });

  it('should leave the executor unobserved when tracing is off, and export its pool on /metrics', async () => {
    const metrics = new EngramMetrics();
    const sut = new ObservedSqlInstrumentation(metrics, Tracing.disabled());
    expect(sut.observer).toBeNull();

    pool = new PgSqlExecutor({ connectionString: database.url, max: 3 });
    sut.watchPool(pool);
    expect(await metrics.render()).toMatch(/^engram_db_pool_connections\{state="total"\} 0$/m);

    await pool.query('SELECT 1');
    const text = await metrics.render();
    expect(text).toMatch(/^engram_db_pool_connections\{state="total"\} 1$/m);
    expect(text).toMatch(/^engram_db_pool_connections\{state="idle"\} 1$/m);
    expect(text).toMatch(/^engram_db_pool_connections\{state="waiting"\} 0$/m);
    expect(text).toMatch(/^engram_db_pool_max 3$/m);
  });
});
