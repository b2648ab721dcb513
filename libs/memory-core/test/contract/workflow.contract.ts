import { describe, expect, it } from '@jest/globals';
import { ids, resultIds, type ContractHarness } from './contract-harness.js';

/** One memory through its whole life, the way the API and the worker drive a provider together. */
export function describeWorkflowContract(h: ContractHarness): void {
  describe('full CRUD workflow', () => {
    it('should add, embed, find, update, re-embed, read, access, list and delete a memory', async () => {
      const scope = h.scope({ agentId: 'assistant' });

      const added = await h.provider.add(scope, { content: 'Is training for the Berlin marathon', importance: 7 });
      expect(added.status).toBe('pending');
      expect(resultIds(await h.provider.search(scope, await h.query('Berlin marathon', 'keyword')))).toEqual([
        added.id,
      ]);

      const ready = await h.makeReady(scope, added);
      expect(ready.status).toBe('ready');
      expect(resultIds(await h.provider.search(scope, await h.query('Berlin marathon', 'vector')))).toEqual([added.id]);

      const updated = await h.provider.update(scope, added.id, { content: 'Finished the Berlin marathon in 3h41' });
      expect(updated).toMatchObject({ status: 'pending', embedding: null });
      const reembedded = await h.makeReady(scope, updated);
      const hits = await h.provider.search(scope, await h.query('finished marathon', 'hybrid'));
      expect(h.stable(hits[0].memory)).toEqual(h.stable(reembedded));

      // The access recorder's flush; a backend with its own pipeline counts its reads by itself.
      if (h.drivesPipeline) await h.provider.recordAccess(scope, [{ id: added.id, count: 1, at: new Date() }]);
      expect(await h.provider.get(scope, added.id)).toMatchObject({
        accessCount: h.drivesPipeline ? 1 : expect.any(Number),
        content: updated.content,
      });
      expect(ids((await h.provider.list(scope, { limit: 10 })).items)).toEqual([added.id]);
      expect(await h.provider.count(scope)).toBe(1);

      await h.provider.delete(scope, added.id, 'user');
      expect(await h.provider.get(scope, added.id)).toBeNull();
      expect(await h.provider.search(scope, await h.query('Berlin marathon', 'keyword'))).toEqual([]);
      expect((await h.provider.history(scope, added.id)).map((row) => row.op)).toEqual(['ADD', 'UPDATE', 'DELETE']);
    });
  });
}
