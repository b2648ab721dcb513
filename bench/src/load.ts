import { writeFile } from 'node:fs/promises';
import pg from 'pg';
import { loadConfig } from '@engram/config';
import { createEmbedder } from '@engram/embeddings';
import { asTenantId } from '@engram/memory-core';
import { searchMemories } from '@engram/memory-postgres';
import { parseLoadArgs, type LoadArgs } from './load/load-args.js';
import { LatencyRecorder, drive, type LatencySummary } from './load/latency-recorder.js';
import { SeededRandom, memoryText, queryText } from './load/synthetic-corpus.js';

/**
 * `npm run bench`: load against a running Engram (ENGRAM_URL). Seeds the memories over the scopes,
 * waits until every one is searchable, then drives search and add at the given concurrency, and in the
 * same run measures the floors: Engram's own search statement, and the bare vector scan, on a plain pg pool.
 */
const OSS_TENANT_ID = '00000000-0000-0000-0000-000000000000';

const round = (x: number) => Math.round(x * 100) / 100;

interface Client {
  url: string;
  headers: Record<string, string>;
}

async function call(client: Client, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${client.url}${path}`, {
    method,
    headers: { ...client.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Scope i's user id; the first scope is the big one when --scope-size is given. */
const scopeUser = (i: number) => `bench-user-${i}`;

function scopeSizes(args: LoadArgs): number[] {
  if (args.scopeSize === undefined) {
    return Array.from(
      { length: args.tenants },
      (_, i) => Math.floor(args.memories / args.tenants) + (i < args.memories % args.tenants ? 1 : 0),
    );
  }
  const rest = args.memories - args.scopeSize;
  const others = Math.max(1, args.tenants - 1);
  return [
    args.scopeSize,
    ...Array.from({ length: others }, (_, i) => Math.floor(rest / others) + (i < rest % others ? 1 : 0)),
  ];
}

async function seed(client: Client, args: LoadArgs): Promise<number> {
  const random = new SeededRandom(42);
  const sizes = scopeSizes(args);
  const batches: Array<Array<{ content: string; user_id: string }>> = [];
  let index = 0;
  sizes.forEach((size, scope) => {
    for (let start = 0; start < size; start += 1000) {
      batches.push(
        Array.from({ length: Math.min(1000, size - start) }, () => ({
          content: memoryText(random, index++),
          user_id: scopeUser(scope),
        })),
      );
    }
  });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        await call(client, 'POST', '/v1/memories/batch', { memories: batch });
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(`seeded ${index} memories over ${sizes.length} scopes in ${seconds.toFixed(1)} s`);
  return seconds;
}

async function waitUntilEmbedded(db: pg.Pool | null, client: Client): Promise<number> {
  const started = performance.now();
  for (;;) {
    let pending: number;
    if (db) {
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM memories WHERE status = 'pending'",
      );
      pending = rows[0].n;
    } else {
      const ready = (await call(client, 'GET', '/ready')) as { dependencies: { queue: { depth?: number } } };
      pending = ready.dependencies.queue.depth ?? 0;
    }
    if (pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`all memories searchable after ${seconds.toFixed(1)} s more`);
  return seconds;
}

async function main(): Promise<void> {
  const args = parseLoadArgs(process.argv.slice(2));
  const config = loadConfig();
  const client: Client = {
    url: (process.env.ENGRAM_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    headers: config.apiKey ? { authorization: `Bearer ${config.apiKey.reveal()}` } : {},
  };
  if (config.edition === 'cloud')
    throw new Error('bench: cloud tenants are not supported by this version of the benchmark');
  const db = config.databaseUrl
    ? new pg.Pool({ connectionString: config.databaseUrl.reveal(), max: args.concurrency })
    : null;
  const embedder = createEmbedder(config.embeddings);

  const acknowledgedS = args.reuse ? null : await seed(client, args);
  const searchableS = await waitUntilEmbedded(db, client);
  const ingest =
    acknowledgedS === null
      ? null
      : {
          memories: args.memories,
          acknowledged_s: round(acknowledgedS),
          searchable_s: round(acknowledgedS + searchableS),
          memories_per_s: round(args.memories / (acknowledgedS + searchableS)),
        };

  const random = new SeededRandom(7);
  const queries = Array.from({ length: 500 }, () => queryText(random));
  const vectors = await embedder.embed(queries);
  const scopes = scopeSizes(args).length;
  const targetUser = (i: number) => (args.scopeSize !== undefined ? scopeUser(0) : scopeUser(i % scopes));
  const durationMs = args.durationS * 1000;
  // Searches go round the scopes and the queries; the count carries on from the warm-up into the measured run.
  let searches = 0;
  const searchOnce = async () => {
    const i = searches++;
    await call(client, 'POST', '/v1/memories/search', {
      query: queries[i % queries.length],
      user_id: targetUser(i),
      limit: 10,
    });
  };
  // Up to 5 s of searches before measuring, so that the service's per-scope caches (sizes, speaker labels, scope
  // copies) hold what steady traffic would keep in them.
  await drive(args.concurrency, Math.min(durationMs, 5_000), searchOnce, new LatencyRecorder());

  const search = new LatencyRecorder();
  const searchElapsed = await drive(args.concurrency, durationMs, searchOnce, search);

  // The floors, on a plain pg pool, same queries, same scopes, same concurrency:
  // - floor: Engram's own search statement (hybrid, exact path), as one SQL statement: what is left is the service;
  // - vector_floor: the bare exact vector scan of the scope (MATERIALIZED, so the planner cannot answer with an HNSW
  //   scan that drops the scope's rows), the cheapest full top 10 there is.
  let floor: LatencySummary | null = null;
  let vectorFloor: LatencySummary | null = null;
  if (db) {
    const d = embedder.dimensions;
    const statementOf = (i: number) =>
      searchMemories({
        scope: { tenantId: asTenantId(OSS_TENANT_ID), userId: targetUser(i) },
        query: {
          text: queries[i % queries.length],
          embedding: { vector: vectors[i % vectors.length], model: embedder.model },
          mode: 'hybrid',
          limit: 10,
          recencyWeight: 0,
          importanceWeight: 0,
        },
        now: new Date(),
        strategy: 'exact',
      });
    const recorder = new LatencyRecorder();
    let f = 0;
    const elapsed = await drive(
      args.concurrency,
      durationMs,
      async () => {
        const statement = statementOf(f++);
        // Prepared, as Engram runs it: the floor is the best one statement can do.
        await db.query({ name: 'engram_bench_floor', text: statement.text, values: statement.values });
      },
      recorder,
    );
    floor = recorder.summary(elapsed);

    const vectorSql = `WITH s AS MATERIALIZED (SELECT id, embedding::vector(${d}) <=> $3::vector(${d}) AS d FROM memories
      WHERE tenant_id = $1 AND user_id = $2 AND embedding_dimensions = ${d}) SELECT id FROM s ORDER BY d LIMIT 10`;
    const vectorRecorder = new LatencyRecorder();
    let v = 0;
    const vectorElapsed = await drive(
      args.concurrency,
      durationMs,
      async () => {
        const i = v++;
        await db.query(vectorSql, [OSS_TENANT_ID, targetUser(i), `[${vectors[i % vectors.length].join(',')}]`]);
      },
      vectorRecorder,
    );
    vectorFloor = vectorRecorder.summary(vectorElapsed);
  }

  const add = new LatencyRecorder();
  let a = 0;
  const addRandom = new SeededRandom(99);
  const addElapsed = await drive(
    args.concurrency,
    Math.min(durationMs, 10_000),
    async () => {
      a++;
      await call(client, 'POST', '/v1/memories', {
        content: memoryText(addRandom, args.memories + a),
        user_id: scopeUser(scopes + 1),
      });
    },
    add,
  );

  const result = {
    args,
    ingest,
    search: search.summary(searchElapsed),
    add: add.summary(addElapsed),
    floor,
    vector_floor: vectorFloor,
    ratio_p95: floor ? Math.round((search.summary(searchElapsed).p95_ms / floor.p95_ms) * 100) / 100 : null,
    ratio_ops: floor ? Math.round((search.summary(searchElapsed).ops_s / floor.ops_s) * 100) / 100 : null,
    errors: { search: search.errors, add: add.errors },
  };
  console.table({
    search: result.search,
    add: result.add,
    ...(floor ? { floor } : {}),
    ...(vectorFloor ? { vector_floor: vectorFloor } : {}),
  });
  if (ingest) console.log(`ingest ${JSON.stringify(ingest)}`);
  console.log(`ratio_p95 ${result.ratio_p95}  ratio_ops ${result.ratio_ops}  errors ${JSON.stringify(result.errors)}`);
  if (args.json) await writeFile(args.json, `${JSON.stringify(result, null, 2)}\n`);
  await db?.end();
  await embedder.close?.();
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
