/* @license Enterprise */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  MemoryException,
  MemoryExceptionCode,
  newId,
  parseFilter,
  type Memory,
  type MemoryProvider,
  type MemoryScope,
  type SearchMode,
  type TenantId,
} from '@engram/memory-core';
import { PostgresMemoryProvider } from '@engram/memory-postgres';
import { CloudMemoryProvider } from '../src/memory/cloud.memory-provider.js';
import {
  asRequestOf,
  embedder,
  liveTenants,
  openCloudTestDatabase,
  requestTenant,
  type CloudTestDatabase,
} from './fixtures/cloud-test-database.js';

const TENANTS = 12;
const USERS = 3;
const WORDS = ['apple', 'river', 'engine', 'violet', 'harbor', 'canyon', 'lantern'] as const;
const SPEAKERS = ['Alice', 'Bob', 'Carol'] as const;
const IMPORTANT = parseFilter({ importance: { gte: 5 } });
const RUNS = 40;
/** Any length up to 400 (about 200 on average), so that a failure shrinks to the few operations that matter. */
const OPS_PER_RUN = { maxLength: 400, size: 'max' } as const;
const MIN_OPERATIONS = 4_000;
/** SQLSTATE insufficient_privilege: what a write the policy's WITH CHECK refuses gets. */
const INSUFFICIENT_PRIVILEGE = '42501';

/** Who makes the call: no request (the worker), a request of the scope's own tenant, or of some other tenant. */
type Caller = { kind: 'system' } | { kind: 'owner' } | { kind: 'other'; tenant: number };
/** The scope: a tenant and one of its users, or (for methods on ids) the tenant alone. */
interface Target {
  tenant: number;
  user: number | null;
}

type Op =
  | {
      op: 'add';
      to: Target;
      caller: Caller;
      memories: { speaker: number; words: [number, number]; importance: number }[];
    }
  | {
      op: 'get' | 'exists' | 'history' | 'delete' | 'markFailed' | 'recordAccess' | 'embed';
      to: Target;
      caller: Caller;
      pick: number;
    }
  | { op: 'update'; to: Target; caller: Caller; pick: number; word: number }
  | { op: 'getMany' | 'deleteMany'; to: Target; caller: Caller; picks: number[] }
  | { op: 'list' | 'count' | 'clear' | 'speakerLabels'; to: Target; caller: Caller; filtered: boolean }
  | { op: 'search'; to: Target; caller: Caller; mode: SearchMode; word: number };

const callerArb: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'owner' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'system' as const }) },
  { weight: 3, arbitrary: fc.nat(TENANTS - 1).map((tenant) => ({ kind: 'other' as const, tenant })) },
);
const tenantArb = fc.nat(TENANTS - 1);
const userArb = fc.nat(USERS - 1);
const scopedArb: fc.Arbitrary<Target> = fc.record({ tenant: tenantArb, user: userArb });
const byIdArb: fc.Arbitrary<Target> = fc.record({
  tenant: tenantArb,
  user: fc.option(userArb, { freq: 3, nil: null }),
});
const pickArb = fc.nat(10_000);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      to: scopedArb,
      caller: callerArb,
      memories: fc.array(
        fc.record({
          speaker: fc.nat(SPEAKERS.length - 1),
          words: fc.tuple(fc.nat(WORDS.length - 1), fc.nat(WORDS.length - 1)),
          importance: fc.integer({ min: 1, max: 10 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constantFrom('get', 'exists', 'history', 'delete', 'markFailed', 'recordAccess', 'embed'),
      to: byIdArb,
      caller: callerArb,
      pick: pickArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('update' as const),
      to: byIdArb,
      caller: callerArb,
      pick: pickArb,
      word: fc.nat(WORDS.length - 1),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('getMany', 'deleteMany'),
      to: byIdArb,
      caller: callerArb,
      picks: fc.array(pickArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constantFrom('list', 'count', 'clear', 'speakerLabels'),
      to: scopedArb,
      caller: callerArb,
      filtered: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('search' as const),
      to: scopedArb,
      caller: callerArb,
      mode: fc.constantFrom<SearchMode>('keyword', 'vector', 'hybrid'),
      word: fc.nat(WORDS.length - 1),
    }),
  },
);

/** What a memory of this run should be, by the model. */
interface Modelled {
  tenant: number;
  user: number;
  content: string;
  contentHash: string;
  importance: number;
  accessCount: number;
  alive: boolean;
}

/**
 * Thousands of random operations of every kind, over 12 tenants with the same user ids in each, from requests of the
 * scope's tenant, of other tenants, and from no request at all (the worker). After every operation: no answer ever
 * carries another tenant's memory, and each answer is exactly what a model of each tenant's own memories predicts
 * (so a crossing call can neither see nor change anything). After each run, the rows themselves are compared with
 * the model, read as the owner behind row-level security.
 *
 * Run on two subjects, so that each wall is shown to hold on its own: the cloud provider as production builds it,
 * and the bare Postgres provider with only row-level security, set to the request's tenant, between the tenants.
 */
describe('tenant isolation under random operations (property)', () => {
  let db: CloudTestDatabase;
  let tenants: TenantId[];

  beforeAll(async () => {
    db = await openCloudTestDatabase();
    tenants = await db.createTenants(TENANTS);
  });

  afterAll(() => db.teardown());

  /** How one subject is called on behalf of a request of `requestTenant` (null: no request) with a scope of `scopeTenant`. */
  interface Subject {
    provider: MemoryProvider;
    call<T>(requestTenant: number | null, scopeTenant: number, fn: () => Promise<T>): Promise<T>;
    /** The error a write into another tenant gets. */
    refusedWrite: string;
  }

  const subjects: [string, () => Subject][] = [
    [
      'the cloud provider (application wall and row-level security)',
      () => {
        const { appSql, controlSql, hnswDimensions } = db.database;
        return {
          provider: new CloudMemoryProvider(new PostgresMemoryProvider(appSql, { hnswDimensions }), appSql, {
            currentTenant: requestTenant,
            tenantIds: () => liveTenants(controlSql),
            onCrossing: () => undefined,
          }),
          call: (requestTenant, _scopeTenant, fn) =>
            requestTenant === null ? fn() : asRequestOf(tenants[requestTenant], fn),
          refusedWrite: MemoryExceptionCode.FORBIDDEN,
        };
      },
    ],
    [
      'row-level security alone (the Postgres provider running for the request tenant)',
      () => {
        const { appSql, hnswDimensions } = db.database;
        return {
          provider: new PostgresMemoryProvider(appSql, { hnswDimensions }),
          call: (requestTenant, scopeTenant, fn) => appSql.withTenant(tenants[requestTenant ?? scopeTenant], fn),
          refusedWrite: INSUFFICIENT_PRIVILEGE,
        };
      },
    ],
  ];

  for (const [name, makeSubject] of subjects) {
    it(`should never return, change or delete a memory of another tenant, whatever the operations: ${name}`, async () => {
      const subject = makeSubject();
      const counter = { executed: 0 };
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, OPS_PER_RUN), (ops) => runSequence(subject, ops, counter)),
        { numRuns: RUNS },
      );
      // Thousands of operations in all (about 8,000), so that rare sequences get their chance.
      expect(counter.executed).toBeGreaterThanOrEqual(MIN_OPERATIONS);
    }, 120_000);
  }

  async function runSequence(subject: Subject, ops: readonly Op[], counter: { executed: number }): Promise<void> {
    const { provider } = subject;
    const run = newId().slice(-12);
    const userId = (user: number): string => `user-${user}-${run}`;
    const model = new Map<string, Modelled>();
    const ids: string[] = [];

    for (const step of ops) {
      const { to, caller } = step;
      const requestTenant =
        caller.kind === 'owner'
          ? to.tenant
          : caller.kind === 'other'
            ? caller.tenant === to.tenant
              ? (to.tenant + 1) % TENANTS
              : caller.tenant
            : null;
      const allowed = requestTenant === null || requestTenant === to.tenant;
      const scope: MemoryScope =
        to.user === null ? { tenantId: tenants[to.tenant] } : { tenantId: tenants[to.tenant], userId: userId(to.user) };
      const call = <T>(fn: () => Promise<T>): Promise<T> => subject.call(requestTenant, to.tenant, fn);

      const inScope = (m: Modelled | undefined): m is Modelled =>
        m !== undefined && m.tenant === to.tenant && (to.user === null || m.user === to.user);
      const visible = (id: string): boolean => allowed && inScope(model.get(id)) && model.get(id)!.alive;
      const scopeMemories = (): [string, Modelled][] =>
        allowed ? [...model.entries()].filter(([, m]) => inScope(m) && m.alive) : [];
      const pick = (n: number): string => (n % (ids.length + 1) === ids.length ? newId() : ids[n % (ids.length + 1)]);

      /** The invariant: whatever comes back is the scope's tenant's, and the request's tenant's. */
      const own = (memories: readonly Memory[]): void => {
        for (const memory of memories) {
          expect(memory.tenantId).toBe(tenants[to.tenant]);
          if (requestTenant !== null) expect(memory.tenantId).toBe(tenants[requestTenant]);
          if (to.user !== null) expect(memory.userId).toBe(userId(to.user));
        }
      };
      const notFound = async (promise: Promise<unknown>): Promise<void> => {
        const error = await promise.then(
          () => null,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(MemoryException);
        expect((error as MemoryException).code).toBe(MemoryExceptionCode.MEMORY_NOT_FOUND);
      };

      switch (step.op) {
        case 'add': {
          const inputs = step.memories.map((m) => ({
            content: `${SPEAKERS[m.speaker]}: ${WORDS[m.words[0]]} ${WORDS[m.words[1]]}`,
            importance: m.importance,
          }));
          const attempt = call(() =>
            inputs.length === 1 ? provider.add(scope, inputs[0]).then((m) => [m]) : provider.addMany(scope, inputs),
          );
          if (!allowed) {
            await expect(attempt).rejects.toMatchObject({ code: subject.refusedWrite });
            break;
          }
          const added = await attempt;
          own(added);
          for (const memory of added) {
            ids.push(memory.id);
            model.set(memory.id, {
              tenant: to.tenant,
              user: to.user!,
              content: memory.content,
              contentHash: memory.contentHash,
              importance: memory.importance,
              accessCount: 0,
              alive: true,
            });
          }
          break;
        }
        case 'get': {
          const id = pick(step.pick);
          const found = await call(() => provider.get(scope, id));
          own(found ? [found] : []);
          expect(found?.id ?? null).toBe(visible(id) ? id : null);
          break;
        }
        case 'exists': {
          const id = pick(step.pick);
          expect(await call(() => provider.exists(scope, id))).toBe(visible(id));
          break;
        }
        case 'getMany': {
          const wanted = [...new Set(step.picks.map(pick))];
          const found = await call(() => provider.getMany(scope, wanted));
          own(found);
          expect(found.map((m) => m.id)).toEqual(wanted.filter(visible));
          break;
        }
        case 'history': {
          const id = pick(step.pick);
          const entries = await call(() => provider.history(scope, id));
          // History outlives the memory, but never leaves its tenant (or user).
          const expected = allowed && inScope(model.get(id));
          expect(entries.length > 0).toBe(expected);
          for (const entry of entries) expect(entry.memoryId).toBe(id);
          break;
        }
        case 'update': {
          const id = pick(step.pick);
          const content = `${SPEAKERS[0]}: ${WORDS[step.word]} updated`;
          const attempt = call(() => provider.update(scope, id, { content }));
          if (!visible(id)) {
            await notFound(attempt);
            break;
          }
          const updated = await attempt;
          own([updated]);
          Object.assign(model.get(id)!, { content, contentHash: updated.contentHash });
          break;
        }
        case 'delete': {
          const id = pick(step.pick);
          const attempt = call(() => provider.delete(scope, id));
          if (!visible(id)) {
            await notFound(attempt);
            break;
          }
          await attempt;
          model.get(id)!.alive = false;
          break;
        }
        case 'deleteMany': {
          const wanted = [...new Set(step.picks.map(pick))];
          const expected = wanted.filter(visible);
          expect(await call(() => provider.deleteMany(scope, wanted))).toBe(expected.length);
          for (const id of expected) model.get(id)!.alive = false;
          break;
        }
        case 'recordAccess': {
          const id = pick(step.pick);
          await call(() => provider.recordAccess(scope, [{ id, count: 2, at: new Date() }]));
          if (visible(id)) model.get(id)!.accessCount += 2;
          break;
        }
        case 'embed': {
          const id = pick(step.pick);
          const m = model.get(id);
          const [vector] = await embedder.embed([m?.content ?? 'nothing']);
          const result = await call(() =>
            provider.setEmbedding(scope, id, {
              vector,
              model: embedder.model,
              dimensions: vector.length,
              contentHash: m?.contentHash ?? 'unknown',
            }),
          );
          expect(result).toBe(visible(id) ? 'written' : 'skipped');
          break;
        }
        case 'markFailed': {
          await call(() => provider.markFailed(scope, pick(step.pick), 'random failure'));
          break;
        }
        case 'list': {
          const page = await call(() =>
            provider.list(scope, { limit: 1000, filter: step.filtered ? IMPORTANT : undefined }),
          );
          own(page.items);
          const expected = scopeMemories().filter(([, m]) => !step.filtered || m.importance >= 5);
          expect(page.items.map((m) => m.id).sort()).toEqual(expected.map(([id]) => id).sort());
          break;
        }
        case 'count': {
          const expected = scopeMemories().filter(([, m]) => !step.filtered || m.importance >= 5);
          expect(await call(() => provider.count(scope, step.filtered ? IMPORTANT : undefined))).toBe(expected.length);
          break;
        }
        case 'clear': {
          const expected = scopeMemories();
          expect(await call(() => provider.clear(scope))).toBe(expected.length);
          for (const [, m] of expected) m.alive = false;
          break;
        }
        case 'speakerLabels': {
          const labels = await call(() => provider.speakerLabels(scope));
          const expected = new Set(scopeMemories().map(([, m]) => m.content.split(':')[0]));
          expect(new Set(labels)).toEqual(expected);
          break;
        }
        case 'search': {
          const text = WORDS[step.word];
          const embedding =
            step.mode === 'keyword' ? undefined : { vector: (await embedder.embed([text]))[0], model: embedder.model };
          const results = await call(() => provider.search(scope, { text, mode: step.mode, limit: 100, embedding }));
          const memories = results.map((result) => result.memory);
          own(memories);
          const candidates = new Set(scopeMemories().map(([id]) => id));
          for (const memory of memories) expect(candidates.has(memory.id)).toBe(true);
          if (step.mode === 'keyword') {
            const matching = scopeMemories().filter(([, m]) => m.content.split(/\W+/).includes(text));
            expect(memories.map((m) => m.id).sort()).toEqual(matching.map(([id]) => id).sort());
          }
          break;
        }
      }
      counter.executed += 1;
    }

    await expectRowsMatchModel(run, model);
  }

  /** Behind row-level security (as the owner): exactly the model's live memories, each in its own tenant. */
  async function expectRowsMatchModel(run: string, model: Map<string, Modelled>): Promise<void> {
    const users = Array.from({ length: USERS }, (_, user) => `user-${user}-${run}`);
    const rows = await db.owner.query<{
      tenant_id: string;
      id: string;
      user_id: string;
      content: string;
      access_count: number;
    }>(
      `SELECT tenant_id::text, id::text, user_id, content, access_count FROM memories WHERE user_id = ANY($1::text[])`,
      [users],
    );
    const expected = [...model.entries()]
      .filter(([, m]) => m.alive)
      .map(([id, m]) => ({
        tenant_id: tenants[m.tenant],
        id,
        user_id: `user-${m.user}-${run}`,
        content: m.content,
        access_count: m.accessCount,
      }));
    const byId = (a: { id: string }, b: { id: string }): number => (a.id < b.id ? -1 : 1);
    expect(rows.sort(byId)).toEqual(expected.sort(byId));

    const history = await db.owner.query<{ tenant_id: string; memory_id: string }>(
      `SELECT tenant_id::text, memory_id::text FROM memory_history WHERE user_id = ANY($1::text[])`,
      [users],
    );
    for (const row of history) expect(row.tenant_id).toBe(tenants[model.get(row.memory_id)!.tenant]);
  }
});
