import { randomUUID } from 'node:crypto';
import { expect } from '@jest/globals';
import type { Embedder } from '../../src/embedder.js';
import type { Memory, NewMemory, SearchMode } from '../../src/memory.js';
import type { MemoryProvider, SearchQuery } from '../../src/memory-provider.js';
import type { MemoryScope } from '../../src/memory-scope.js';
import { MemoryException, type MemoryExceptionCode } from '../../src/memory.exception.js';
import { OSS_TENANT_ID, asTenantId, type TenantId } from '../../src/tenant.js';

/** What a provider's test file hands to the contract kit. */
export interface MemoryProviderContractSubject {
  provider: MemoryProvider;
  /** Computes the vectors the kit stores through `setEmbedding` and the query vectors it searches with. */
  embedder: Embedder;
  teardown(): Promise<void>;
  /** Two distinct tenants the provider accepts (e.g. rows that exist in a tenants table). */
  tenants?: readonly [TenantId, TenantId];
}

export type MemoryProviderContractSetup = () => Promise<MemoryProviderContractSubject>;

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

  constructor(private readonly setup: MemoryProviderContractSetup) {}

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

  /** What the embedding worker does: embed the content and store the vector. */
  async makeReady(scope: MemoryScope, memory: Memory): Promise<Memory> {
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
    return ready;
  }

  async addReady(scope: MemoryScope, input: NewMemory | string): Promise<Memory> {
    const memory = await this.provider.add(scope, typeof input === 'string' ? { content: input } : input);
    return this.makeReady(scope, memory);
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
