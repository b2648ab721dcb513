import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { Embedder } from '../../src/embedder.js';
import type { Memory, NewMemory, SearchMode } from '../../src/memory.js';
import type { MemoryProvider, SearchQuery } from '../../src/memory-provider.js';
import type { MemoryScope } from '../../src/memory-scope.js';
import { MemoryException, type MemoryExceptionCode } from '../../src/memory.exception.js';
import { OSS_TENANT_ID, asTenantId, type TenantId } from '../../src/tenant.js';

/** What a provider's test file hands to the contract kit. */
export interface MemoryProviderContractSubject {
  provider: MemoryProvider;
  /**
   * Computes the vectors the kit stores through `setEmbedding` and the query vectors it searches with. For a backend
   * with its own pipeline, the embedder that backend uses, so that the kit's query vectors are the backend's.
   */
  embedder: Embedder;
  teardown(): Promise<void>;
  /** Two distinct tenants the provider accepts (e.g. rows that exist in a tenants table). */
  tenants?: readonly [TenantId, TenantId];
}

export type MemoryProviderContractSetup = () => Promise<MemoryProviderContractSubject>;

/**
 * What the backend does by itself, which decides how the kit drives it. Given to `describeMemoryProviderContract`
 * rather than returned by `setup`: which tests exist must be known when the suite is declared, before any setup runs.
 */
export interface MemoryProviderCapabilities {
  /**
   * Who runs the provider's worker side: the embedding pipeline (`setEmbedding`, `markFailed`, `listPending`), the
   * access statistics (`recordAccess`) and the purge of expired memories (`purgeExpired`).
   * - `external` (the default): the system's workers call those methods and the provider only stores what they say.
   *   The kit plays the workers, embedding with the subject's `embedder`, and tests each of those methods.
   * - `own`: the backend runs a pipeline of its own (a remote Engram): it embeds, counts accesses and purges by itself,
   *   and those methods have nothing to do. The kit lets it: a memory is made ready by waiting for the backend to turn
   *   it `ready`; memories are compared without what the backend changes on its own (status, access statistics); and
   *   the tests of the worker side (marked `itWorkerSide`) do not apply.
   */
  pipeline: 'external' | 'own';
  /**
   * Whose name the history keeps as a write's actor: `kept`, the actor the call names (the default); `backend`, the
   * caller the backend authenticated (a remote server, whose API takes no actor).
   */
  historyActor?: 'kept' | 'backend';
}

const EXTERNAL_PIPELINE: MemoryProviderCapabilities = { pipeline: 'external', historyActor: 'kept' };
/** How long the kit waits for a backend with its own pipeline to make a memory ready. */
const OWN_PIPELINE_READY_WITHIN_MS = 15_000;

export const DEFAULT_CONTRACT_TENANTS = [
  OSS_TENANT_ID,
  asTenantId('7d3c5e0a-4f1b-4c8e-9a2d-6b5f4e3c2a10'),
] as const satisfies readonly [TenantId, TenantId];

/**
 * The provider under test and the helpers every contract test uses. Tests only go through the
 * MemoryProvider protocol, never a provider's internals, so that the same kit runs against every backend.
 * Each test makes its own owner ids: the kit must also pass on a shared database full of other tests' rows.
 */
export class ContractHarness {
  private subject: MemoryProviderContractSubject | null = null;
  readonly capabilities: MemoryProviderCapabilities;

  constructor(
    private readonly setup: MemoryProviderContractSetup,
    capabilities: MemoryProviderCapabilities = EXTERNAL_PIPELINE,
  ) {
    this.capabilities = capabilities;
  }

  /** Whether the kit plays the workers for this subject (embeds, records accesses, purges). */
  get drivesPipeline(): boolean {
    return this.capabilities.pipeline === 'external';
  }

  /**
   * `it` for a test of the worker side (setEmbedding, markFailed, listPending, recordAccess, purgeExpired, or what only
   * they can set up): declared only for subjects whose worker side the kit drives. The one gate for all of them.
   */
  readonly itWorkerSide = (name: string, test: () => Promise<void>): void => {
    if (this.drivesPipeline) it(name, test);
  };

  /** `describe` for a group of worker-side tests; see `itWorkerSide`. */
  readonly describeWorkerSide = (name: string, tests: () => void): void => {
    if (this.drivesPipeline) describe(name, tests);
  };

  /** The actor a history row shows for a write made with `actor`: any name, when the backend records its own. */
  actor(actor: string): unknown {
    return this.capabilities.historyActor === 'backend' ? expect.any(String) : actor;
  }

  /**
   * A memory as two reads of it must agree on. A backend with its own pipeline moves a memory from pending to ready
   * and counts its own reads as accesses whenever it likes, so those fields are left out of the comparison for it.
   */
  stable(memory: Memory | null | undefined): unknown {
    if (!memory || this.drivesPipeline) return memory;
    const rest: Partial<Memory> = { ...memory };
    delete rest.status;
    delete rest.accessCount;
    delete rest.accessedAt;
    return rest;
  }

  async start(): Promise<void> {
    this.subject = await this.setup();
  }

  async stop(): Promise<void> {
    await this.subject?.teardown();
    this.subject = null;
  }

  get provider(): MemoryProvider {
    return this.current().provider;
  }

  get embedder(): Embedder {
    return this.current().embedder;
  }

  get tenants(): readonly [TenantId, TenantId] {
    return this.current().tenants ?? DEFAULT_CONTRACT_TENANTS;
  }

  /** A fresh user of the first tenant, unless `owner` says otherwise. */
  scope(owner: Partial<MemoryScope> = {}): MemoryScope {
    return { tenantId: this.tenants[0], userId: uniqueName('user'), ...owner };
  }

  async embed(text: string): Promise<number[]> {
    const [vector] = await this.embedder.embed([text]);
    return vector;
  }

  /** A search query as the service builds it: with the query's embedding for the modes that need one. */
  async query(text: string, mode: SearchMode, extra: Partial<SearchQuery> = {}): Promise<SearchQuery> {
    const embedding = mode === 'keyword' ? undefined : { vector: await this.embed(text), model: this.embedder.model };
    return { text, mode, limit: 10, embedding, ...extra };
  }

  /**
   * Makes a memory searchable by its vector: as the embedding worker does (embed the content and store the vector),
   * or, for a backend with its own pipeline, by waiting until the backend has.
   */
  async makeReady(scope: MemoryScope, memory: Memory): Promise<Memory> {
    if (!this.drivesPipeline) return this.awaitReady(scope, memory.id);
    const vector = await this.embed(memory.content);
    const result = await this.provider.setEmbedding(scope, memory.id, {
      vector,
      model: this.embedder.model,
      dimensions: vector.length,
      contentHash: memory.contentHash,
    });
    expect(result).toBe('written');
    const ready = await this.provider.get(scope, memory.id);
    if (!ready) throw new Error(`memory ${memory.id} vanished while being embedded`);
    expect(ready.embeddingModel).toBe(this.embedder.model);
    return ready;
  }

  async addReady(scope: MemoryScope, input: NewMemory | string): Promise<Memory> {
    const memory = await this.provider.add(scope, typeof input === 'string' ? { content: input } : input);
    return this.makeReady(scope, memory);
  }

  private async awaitReady(scope: MemoryScope, id: string): Promise<Memory> {
    const deadline = Date.now() + OWN_PIPELINE_READY_WITHIN_MS;
    for (;;) {
      const memory = await this.provider.get(scope, id);
      if (!memory) throw new Error(`memory ${id} vanished while the backend was embedding it`);
      if (memory.status === 'ready') return memory;
      if (memory.status === 'failed')
        throw new Error(`the backend failed to embed memory ${id}: ${memory.failureReason}`);
      if (Date.now() > deadline)
        throw new Error(`the backend did not make memory ${id} ready within ${OWN_PIPELINE_READY_WITHIN_MS} ms`);
      await sleep(20);
    }
  }

  private current(): MemoryProviderContractSubject {
    if (!this.subject) throw new Error('the contract subject is not set up (used outside a test?)');
    return this.subject;
  }
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** Asserts a typed domain error: the API maps codes to statuses, so the code is part of the contract. */
export async function expectMemoryError(promise: Promise<unknown>, code: MemoryExceptionCode): Promise<void> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(MemoryException);
  expect((caught as MemoryException).code).toBe(code);
}

export function ids(items: readonly { id: string }[]): string[] {
  return items.map((item) => item.id);
}

export function resultIds(results: readonly { memory: { id: string } }[]): string[] {
  return results.map((result) => result.memory.id);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
