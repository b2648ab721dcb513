import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { MemoryClient as Mem0Client } from 'mem0ai';
import type { TestApp } from './api-test.app.js';

/**
 * mem0's official JS client (the `mem0ai` package, as users install it) driven through every memory method against a
 * running Engram: the same scenario for each edition (apps/api/test/mem0-client.e2e-spec.ts for OSS,
 * ee/cloud/test/mem0-client.e2e-spec.ts for the cloud with a tenant key). Results are checked, not only statuses.
 */

export type MemoryClient = Mem0Client;

/**
 * The client module, with its telemetry off: it reads MEM0_TELEMETRY once, when it loads, so the variable is set
 * before the (dynamic) import. With it off, the client makes no call but to the host it is given.
 */
export async function loadMem0() {
  process.env['MEM0_TELEMETRY'] = 'false';
  return import('mem0ai');
}
export type Mem0Module = Awaited<ReturnType<typeof loadMem0>>;

/** Listens on a loopback port (a real client needs a real socket) and gives the `host` mem0's clients take. */
export async function listenForMem0(api: TestApp): Promise<string> {
  await api.app.listen(0, '127.0.0.1');
  const { port } = api.app.getHttpServer().address() as AddressInfo;
  return `http://127.0.0.1:${port}/mem0`;
}

export interface Mem0Target {
  /** `http://127.0.0.1:<port>/mem0` */
  host: string;
  apiKey: string;
}

/** A raw call, as mem0's clients make them: `Authorization: Token <key>`, trailing slashes, JSON. */
export async function mem0Fetch(
  target: Mem0Target,
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${target.host}${path}`, {
    method,
    headers: { authorization: `Token ${target.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text === '' ? undefined : JSON.parse(text) };
}

/** Polls an add's event until it leaves PENDING / RUNNING (the memories are embedded in the background). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
export async function settledEvent(target: Mem0Target, eventId: string): Promise<any> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { status, body } = await mem0Fetch(target, 'GET', `/v1/event/${eventId}/`);
    expect(status).toBe(200);
    if (body.status === 'SUCCEEDED' || body.status === 'FAILED' || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What `client.add` resolves to for an add that runs in the background (the client camel-cases the keys). */
interface Queued {
  message: string;
  status: string;
  eventId: string;
}

/**
 * Runs client calls that are refused, quietly: a client whose first ping (made by its constructor, not awaited) is
 * refused logs that on the console, as does its telemetry without an identity. Waits for those to have happened.
 */
export async function quietly<T>(call: () => Promise<T>): Promise<T> {
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    return await call();
  } finally {
    await new Promise((resolve) => setTimeout(resolve, 100));
    error.mockRestore();
    warn.mockRestore();
  }
}

export function describeMem0ClientScenario(edition: string, start: () => Promise<Mem0Target>): void {
  describe(`the mem0 JS client against Engram (${edition})`, () => {
    let mem0: Mem0Module;
    let target: Mem0Target;
    let client: MemoryClient;
    const unique = (name: string) => `${name}-${randomUUID()}`;

    beforeAll(async () => {
      mem0 = await loadMem0();
      target = await start();
      client = new mem0.MemoryClient({ apiKey: target.apiKey, host: target.host });
    });

    /** Adds in the background, then waits for the event: the memories of the add, oldest first. */
    async function addAndSettle(
      messages: { role: 'user' | 'assistant'; content: string }[],
      options: Record<string, unknown>,
    ): Promise<{ id: string; memory: string }[]> {
      const queued = (await client.add(messages, { infer: false, ...options })) as unknown as Queued;
      const event = await settledEvent(target, queued.eventId);
      expect(event.status).toBe('SUCCEEDED');
      return event.results.map((r: { id: string; data: { memory: string } }) => ({ id: r.id, memory: r.data.memory }));
    }

    describe('ping', () => {
      it('answers a valid key with status ok', async () => {
        await expect(client.ping()).resolves.toBeUndefined();
        const { status, body } = await mem0Fetch(target, 'GET', '/v1/ping/');
        expect(status).toBe(200);
        expect(body).toMatchObject({ status: 'ok' });
      });

      it('refuses a wrong key with 401 {"detail": ...}, which the client raises as AuthenticationError', async () => {
        await quietly(async () => {
          const stranger = new mem0.MemoryClient({ apiKey: 'not-a-key', host: target.host });
          await expect(stranger.ping()).rejects.toBeInstanceOf(mem0.AuthenticationError);
        });
        const raw = await mem0Fetch({ ...target, apiKey: 'not-a-key' }, 'GET', '/v1/ping/');
        expect(raw.status).toBe(401);
        expect(typeof raw.body.detail).toBe('string');
      });
    });

    describe('add', () => {
      it('without inference: stores each message as a memory, and its event reports them until SUCCEEDED', async () => {
        const userId = unique('hiker');
        const queued = (await client.add(
          [
            { role: 'user', content: 'I love hiking in the Alps' },
            { role: 'assistant', content: 'Noted: you enjoy mountain trails' },
          ],
          { userId, infer: false, metadata: { source: 'chat' } },
        )) as unknown as Queued;
        expect(queued.status).toMatch(/^(PENDING|SUCCEEDED)$/);
        expect(typeof queued.eventId).toBe('string');

        const event = await settledEvent(target, queued.eventId);
        expect(event).toMatchObject({ id: queued.eventId, event_type: 'ADD', status: 'SUCCEEDED' });
        expect(event.results.map((r: { event: string; data: { memory: string } }) => [r.event, r.data.memory])).toEqual(
          [
            ['ADD', 'I love hiking in the Alps'],
            ['ADD', 'Noted: you enjoy mountain trails'],
          ],
        );
        expect(event.payload.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);

        const stored = await client.get(event.results[0].id);
        expect(stored).toMatchObject({
          memory: 'I love hiking in the Alps',
          userId,
          metadata: { source: 'chat', role: 'user' },
        });
      });

      it('with inference (mem0’s default): the offline engine extracts the fact, and the event reports it', async () => {
        const userId = unique('default-infer');
        const queued = (await client.add([{ role: 'user', content: 'My favourite colour is teal' }], {
          userId,
        })) as unknown as Queued;
        const event = await settledEvent(target, queued.eventId);
        expect(event.status).toBe('SUCCEEDED');
        expect(event.metadata.inferred).toBe(true);
        expect(event.results.map((r: { data: { memory: string } }) => r.data.memory)).toEqual([
          'My favourite colour is teal',
        ]);
      });

      it('synchronously (asyncMode false): answers once the memories are searchable', async () => {
        const agentId = unique('agent');
        const done = (await client.add([{ role: 'user', content: 'Deploys happen on Thursdays' }], {
          agentId,
          infer: false,
          asyncMode: false,
        })) as unknown as Queued & { results: { id: string; status: string }[] };
        expect(done.status).toBe('SUCCEEDED');
        expect(done.results.map((r) => r.status)).toEqual(['ready']);
        const found = await client.search('thursday deploys', { filters: { agent_id: agentId } });
        expect(found.results.map((r) => r.id)).toEqual([done.results[0].id]);
      });

      it('refuses an add without a user, agent or run with a 400 (ValidationError)', async () => {
        await expect(
          client.add([{ role: 'user', content: 'whose is this?' }], { infer: false }),
        ).rejects.toBeInstanceOf(mem0.ValidationError);
      });
    });

    describe('getAll', () => {
      let alice: string;
      let bob: string;
      let runId: string;
      let memories: Record<string, string>;

      beforeAll(async () => {
        [alice, bob, runId] = [unique('alice'), unique('bob'), unique('run')];
        const [vegetarian, cricket] = await addAndSettle(
          [
            { role: 'user', content: 'Alice is vegetarian' },
            { role: 'user', content: 'Alice plays CRICKET on weekends' },
          ],
          { userId: alice, metadata: { topic: 'food', stars: 4 } },
        );
        const [trip] = await addAndSettle([{ role: 'user', content: 'Alice is planning a trip to Lisbon' }], {
          userId: alice,
          runId,
          metadata: { topic: 'travel', stars: 2 },
        });
        const [tea] = await addAndSettle([{ role: 'user', content: 'Bob drinks green tea' }], { userId: bob });
        memories = { vegetarian: vegetarian.id, cricket: cricket.id, trip: trip.id, tea: tea.id };
      });

      const ids = (page: { results: { id: string }[] }) => page.results.map((m) => m.id).sort();
      const of = (...names: string[]) => names.map((name) => memories[name]).sort();

      it('lists a user’s memories, newest first, in mem0’s paginated envelope', async () => {
        const page = await client.getAll({ filters: { user_id: alice } });
        expect(page.count).toBe(3);
        expect(page.next).toBeNull();
        expect(page.previous).toBeNull();
        expect(page.results.map((m) => m.memory)).toEqual([
          'Alice is planning a trip to Lisbon',
          'Alice plays CRICKET on weekends',
          'Alice is vegetarian',
        ]);
        expect(page.results[0]).toMatchObject({ userId: alice, runId, metadata: { topic: 'travel', stars: 2 } });
      });

      it('accepts userId as well as user_id', async () => {
        expect(ids(await client.getAll({ filters: { userId: alice } }))).toEqual(of('vegetarian', 'cricket', 'trip'));
      });

      it('applies AND with dates, metadata and keywords', async () => {
        const filtered = await client.getAll({
          filters: {
            AND: [
              { user_id: alice },
              { created_at: { gte: '2000-01-01', lte: '2999-12-31' } },
              { metadata: { topic: 'food' } },
              { keywords: { icontains: 'cricket' } },
            ],
          },
        });
        expect(ids(filtered)).toEqual(of('cricket'));
        const starred = await client.getAll({
          filters: { AND: [{ user_id: alice }, { metadata: { stars: { gte: 3 } } }] },
        });
        expect(ids(starred)).toEqual(of('vegetarian', 'cricket'));
      });

      it('applies OR across users, and in', async () => {
        expect(ids(await client.getAll({ filters: { OR: [{ user_id: alice }, { user_id: bob }] } }))).toEqual(
          of('vegetarian', 'cricket', 'trip', 'tea'),
        );
        expect(ids(await client.getAll({ filters: { user_id: { in: [bob, unique('nobody')] } } }))).toEqual(of('tea'));
      });

      it('applies NOT and ne', async () => {
        const notTravel = await client.getAll({
          filters: { AND: [{ user_id: alice }, { NOT: [{ metadata: { topic: 'travel' } }] }] },
        });
        expect(ids(notTravel)).toEqual(of('vegetarian', 'cricket'));
        const otherRuns = await client.getAll({ filters: { AND: [{ user_id: alice }, { run_id: { ne: runId } }] } });
        expect(ids(otherRuns)).toEqual(of('vegetarian', 'cricket'));
      });

      it('reads the wildcard as "any value": a user across all runs', async () => {
        expect(ids(await client.getAll({ filters: { AND: [{ user_id: alice }, { run_id: '*' }] } }))).toEqual(
          of('vegetarian', 'cricket', 'trip'),
        );
        expect(ids(await client.getAll({ filters: { AND: [{ user_id: alice }, { run_id: runId }] } }))).toEqual(
          of('trip'),
        );
      });

      it('pages with page and pageSize, each memory once', async () => {
        const first = await client.getAll({ filters: { user_id: alice }, page: 1, pageSize: 2 });
        const second = await client.getAll({ filters: { user_id: alice }, page: 2, pageSize: 2 });
        const third = await client.getAll({ filters: { user_id: alice }, page: 3, pageSize: 2 });
        expect([first.count, second.count, third.count]).toEqual([3, 3, 3]);
        expect(first.results).toHaveLength(2);
        expect(first.next).toContain('page=2');
        expect(first.previous).toBeNull();
        expect(second.results).toHaveLength(1);
        expect(second.next).toBeNull();
        expect(second.previous).toContain('page=1');
        expect(third.results).toEqual([]);
        expect([...ids(first), ...ids(second)].sort()).toEqual(of('vegetarian', 'cricket', 'trip'));
      });

      it('pages across the scopes of an OR in one order', async () => {
        const pages = await Promise.all(
          [1, 2, 3, 4].map((page) =>
            client.getAll({ filters: { OR: [{ user_id: bob }, { user_id: alice }] }, page, pageSize: 1 }),
          ),
        );
        expect(pages.map((p) => p.count)).toEqual([4, 4, 4, 4]);
        expect(pages.flatMap((p) => p.results.map((m) => m.id)).sort()).toEqual(
          of('vegetarian', 'cricket', 'trip', 'tea'),
        );
      });

      it('refuses filters that name no user, agent or run with a 400 (ValidationError)', async () => {
        await expect(client.getAll({ filters: { run_id: '*' } })).rejects.toBeInstanceOf(mem0.ValidationError);
        await expect(client.getAll({ filters: { created_at: { gte: '2024-01-01' } } })).rejects.toBeInstanceOf(
          mem0.ValidationError,
        );
        const raw = await mem0Fetch(target, 'POST', '/v3/memories/', {
          filters: { OR: [{ user_id: alice }, { agent_id: '*' }] },
        });
        expect(raw.status).toBe(400);
        expect(raw.body.detail).toMatch(/user_id, agent_id or run_id/);
      });

      it('refuses an unknown filter field with a 400 that says which', async () => {
        const raw = await mem0Fetch(target, 'POST', '/v3/memories/', {
          filters: { AND: [{ user_id: alice }, { mood: 'happy' }] },
        });
        expect(raw.status).toBe(400);
        expect(raw.body.detail).toMatch(/unknown filter field "mood"/);
      });
    });

    describe('search', () => {
      let userId: string;
      let ids: Record<string, string>;

      beforeAll(async () => {
        userId = unique('searcher');
        const [pizza, sushi, cycling] = await addAndSettle(
          [
            { role: 'user', content: 'I really like pizza with mushrooms' },
            { role: 'user', content: 'Sushi is my second favourite food' },
            { role: 'user', content: 'I go cycling every Sunday morning' },
          ],
          { userId, metadata: { kind: 'preference' } },
        );
        const [work] = await addAndSettle([{ role: 'user', content: 'Pizza night with the team every Friday' }], {
          userId,
          metadata: { kind: 'work' },
        });
        ids = { pizza: pizza.id, sushi: sushi.id, cycling: cycling.id, work: work.id };
      });

      it('finds the memories a query is about, best first, with scores', async () => {
        const found = await client.search('pizza', { filters: { user_id: userId } });
        expect(
          found.results
            .slice(0, 2)
            .map((r) => r.id)
            .sort(),
        ).toEqual([ids.pizza, ids.work].sort());
        for (const result of found.results) {
          expect(result.score).toBeGreaterThanOrEqual(0);
          expect(result.score).toBeLessThanOrEqual(1);
        }
        const scores = found.results.map((r) => r.score!);
        expect(scores).toEqual([...scores].sort((a, b) => b - a));
        expect(found.results[0]).toMatchObject({ userId, memory: expect.stringMatching(/pizza/i) });
      });

      it('applies filters', async () => {
        const found = await client.search('pizza', {
          filters: { AND: [{ user_id: userId }, { metadata: { kind: 'work' } }] },
        });
        expect(found.results.map((r) => r.id)).toEqual([ids.work]);
      });

      it('returns at most topK results', async () => {
        const found = await client.search('food I like', { filters: { user_id: userId }, topK: 2 });
        expect(found.results).toHaveLength(2);
      });

      it('drops results under the threshold', async () => {
        const all = await client.search('pizza mushrooms', { filters: { user_id: userId }, topK: 10 });
        const cut = (all.results[0].score! + all.results[all.results.length - 1].score!) / 2;
        const above = await client.search('pizza mushrooms', {
          filters: { user_id: userId },
          topK: 10,
          threshold: cut,
        });
        expect(above.results.length).toBeGreaterThan(0);
        expect(above.results.length).toBeLessThan(all.results.length);
        expect(above.results.every((r) => r.score! >= cut)).toBe(true);
      });

      it('finds nothing for another user', async () => {
        expect((await client.search('pizza', { filters: { user_id: unique('stranger') } })).results).toEqual([]);
      });
    });

    describe('one memory', () => {
      it('gets, updates and keeps the history of a memory', async () => {
        const userId = unique('editor');
        const [memory] = await addAndSettle([{ role: 'user', content: 'Lives in Berlin' }], { userId });

        expect(await client.get(memory.id)).toMatchObject({ id: memory.id, memory: 'Lives in Berlin', userId });
        const updated = (await client.update(memory.id, {
          text: 'Lives in Hamburg',
          metadata: { moved: 2024 },
        })) as unknown as { id: string; memory: string; text: string; metadata: Record<string, unknown> };
        expect(updated).toMatchObject({
          id: memory.id,
          memory: 'Lives in Hamburg',
          text: 'Lives in Hamburg',
          metadata: { moved: 2024 },
        });
        expect(await client.get(memory.id)).toMatchObject({ memory: 'Lives in Hamburg', metadata: { moved: 2024 } });

        const history = await client.history(memory.id);
        expect(history.map((h) => [h.event, h.oldMemory, h.newMemory])).toEqual([
          ['ADD', null, 'Lives in Berlin'],
          ['UPDATE', 'Lives in Berlin', 'Lives in Hamburg'],
        ]);
        expect(history.every((h) => h.memoryId === memory.id)).toBe(true);
      });

      it('deletes a memory: it is then a 404 (MemoryNotFoundError), and its history ends with DELETE', async () => {
        const [memory] = await addAndSettle([{ role: 'user', content: 'Temporary note' }], {
          userId: unique('deleter'),
        });
        expect(await client.delete(memory.id)).toEqual({ message: 'Memory deleted successfully!' });
        await expect(client.get(memory.id)).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
        await expect(client.delete(memory.id)).rejects.toBeInstanceOf(mem0.MemoryNotFoundError);
        expect((await client.history(memory.id)).map((h) => h.event)).toEqual(['ADD', 'DELETE']);
      });

      it('answers an unknown id with 404 {"detail": ...}', async () => {
        const raw = await mem0Fetch(target, 'GET', `/v1/memories/${randomUUID()}/`);
        expect(raw.status).toBe(404);
        expect(raw.body.detail).toMatch(/not found/);
      });
    });

    describe('batches', () => {
      it('updates several memories at once', async () => {
        const userId = unique('batch');
        const [a, b] = await addAndSettle(
          [
            { role: 'user', content: 'first draft' },
            { role: 'user', content: 'second draft' },
          ],
          { userId },
        );
        const answer = await client.batchUpdate([
          { memoryId: a.id, text: 'first, final' },
          { memoryId: b.id, text: 'second, final' },
        ]);
        expect(answer).toEqual({ message: 'Successfully updated 2 memories' });
        expect((await client.get(a.id)).memory).toBe('first, final');
        expect((await client.get(b.id)).memory).toBe('second, final');
      });

      it('deletes several memories at once', async () => {
        const userId = unique('batch');
        const [a, b, keep] = await addAndSettle(
          [
            { role: 'user', content: 'one' },
            { role: 'user', content: 'two' },
            { role: 'user', content: 'three' },
          ],
          { userId },
        );
        expect(await client.batchDelete([a.id, b.id])).toEqual({ message: 'Successfully deleted 2 memories' });
        const left = await client.getAll({ filters: { user_id: userId } });
        expect(left.results.map((m) => m.id)).toEqual([keep.id]);
      });
    });

    describe('entities', () => {
      it('lists the users, agents and runs with their memory counts', async () => {
        const [userId, agentId, runId] = [unique('user'), unique('agent'), unique('run')];
        await addAndSettle(
          [
            { role: 'user', content: 'entity one' },
            { role: 'user', content: 'entity two' },
          ],
          { userId, agentId },
        );
        await addAndSettle([{ role: 'user', content: 'entity three' }], { userId, runId });

        const entities = await client.users({ pageSize: 1000 });
        const byName = new Map(entities.results.map((e) => [`${e.type}:${e.name}`, e.totalMemories]));
        expect(byName.get(`user:${userId}`)).toBe(3);
        expect(byName.get(`agent:${agentId}`)).toBe(2);
        expect(byName.get(`run:${runId}`)).toBe(1);
        expect(entities.count).toBe(entities.results.length);
      });

      it('deletes a user with all its memories (deleteUsers)', async () => {
        const [gone, kept] = [unique('gone'), unique('kept')];
        await addAndSettle([{ role: 'user', content: 'to be forgotten' }], { userId: gone });
        await addAndSettle([{ role: 'user', content: 'to be kept' }], { userId: kept });

        expect(await client.deleteUsers({ userId: gone })).toEqual({ message: 'Entity deleted successfully.' });
        expect((await client.getAll({ filters: { user_id: gone } })).count).toBe(0);
        expect((await client.getAll({ filters: { user_id: kept } })).count).toBe(1);
        const names = (await client.users({ pageSize: 1000 })).results.map((e) => e.name);
        expect(names).not.toContain(gone);
        expect(names).toContain(kept);
      });

      it('deletes every memory of a user (deleteAll)', async () => {
        const userId = unique('cleared');
        await addAndSettle(
          [
            { role: 'user', content: 'a' },
            { role: 'user', content: 'b' },
          ],
          { userId },
        );
        expect(await client.deleteAll({ userId })).toMatchObject({ message: 'Memories deleted successfully!' });
        expect((await client.getAll({ filters: { user_id: userId } })).count).toBe(0);
      });

      it('refuses deleteAll without a user, agent or run with a 400', async () => {
        await expect(client.deleteAll()).rejects.toBeInstanceOf(mem0.ValidationError);
      });

      // Last: it empties the tenant.
      it('deletes every user, agent and run (deleteUsers with no argument)', async () => {
        await addAndSettle([{ role: 'user', content: 'last one' }], { userId: unique('last') });
        expect(await client.deleteUsers()).toEqual({ message: 'All users, agents, apps and runs deleted.' });
        expect((await client.users()).results).toEqual([]);
      });
    });
  });
}
