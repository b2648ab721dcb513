import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { MemoryProvider } from '../src/memory-provider.js';
import {
  ContractHarness,
  type MemoryProviderCapabilities,
  type MemoryProviderContractSetup,
  type MemoryProviderContractSubject,
} from './contract/contract-harness.js';
import { describeIsolationContract } from './contract/isolation.contract.js';
import { describeLifecycleContract } from './contract/lifecycle.contract.js';
import { describeReadContract } from './contract/reads.contract.js';
import { describeSearchContract } from './contract/search.contract.js';
import { describeWorkflowContract } from './contract/workflow.contract.js';
import { describeWriteContract } from './contract/writes.contract.js';

export type { MemoryProviderCapabilities, MemoryProviderContractSetup, MemoryProviderContractSubject };
export { DEFAULT_CONTRACT_TENANTS } from './contract/contract-harness.js';

const PROVIDER_METHODS = [
  'add',
  'addMany',
  'get',
  'getMany',
  'update',
  'delete',
  'deleteMany',
  'clear',
  'search',
  'list',
  'count',
  'speakerLabels',
  'exists',
  'owners',
  'history',
  'recordAccess',
  'setEmbedding',
  'setEmbeddings',
  'markFailed',
  'listPending',
  'purgeExpired',
  'health',
  'close',
] as const satisfies readonly (keyof MemoryProvider)[];

// Fails to compile when the protocol gains a method this list (and so the shape test) does not know.
type UnlistedMethod = Exclude<keyof MemoryProvider, (typeof PROVIDER_METHODS)[number]>;
const everyMethodListed: [UnlistedMethod] extends [never] ? true : never = true;

/**
 * The suite every MemoryProvider must pass (LocalMemoryProvider, PostgresMemoryProvider, the cloud edition's
 * tenant-isolating wrapper, ...). It only talks to the protocol; `setup` runs once for the whole suite and
 * each test works in scopes of its own, so a shared, non-empty database is fine.
 *
 * Layers: the protocol's shape; each method's behaviour (the lifecycle of expiry and purging included); a full CRUD
 * workflow; scope isolation (another user, tenant, agent or run, for every method, and scope-less calls refused).
 *
 * `capabilities` says what the backend does by itself (a remote Engram embeds, counts accesses and purges on its own);
 * the default is a provider whose worker side the system's workers drive, and every test applies to it.
 */
export function describeMemoryProviderContract(
  name: string,
  setup: MemoryProviderContractSetup,
  capabilities?: MemoryProviderCapabilities,
): void {
  describe(`${name} (MemoryProvider contract)`, () => {
    const h = new ContractHarness(setup, capabilities);
    // A setup may start servers (a remote provider's): more than a test's time.
    beforeAll(() => h.start(), 120_000);
    afterAll(() => h.stop());

    describe('protocol shape', () => {
      it.each(PROVIDER_METHODS)('should implement %s', (method) => {
        expect(everyMethodListed).toBe(true);
        expect(typeof h.provider[method]).toBe('function');
      });

      it('should describe its embedder', () => {
        expect(typeof h.embedder.model).toBe('string');
        expect(h.embedder.dimensions).toBeGreaterThan(0);
      });
    });

    describe('behaviour', () => {
      describeWriteContract(h);
      describeReadContract(h);
      describeSearchContract(h);
      describeLifecycleContract(h);
    });

    describeWorkflowContract(h);
    describeIsolationContract(h);
  });
}
