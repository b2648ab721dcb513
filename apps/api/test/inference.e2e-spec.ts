import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  scriptedMemoryModel,
  startFakeChatServer,
  type ChatRequest,
  type FakeChatServer,
} from '../../../libs/inference/test/fake-chat.server.js';
import { startTestApp, type TestApp } from './api-test.app.js';

/** Polls GET /v1/events/{id} until the inference is done. */
async function settled(app: TestApp, id: string) {
  for (let i = 0; i < 200; i += 1) {
    const { status, body } = await app.request('GET', `/v1/events/${id}`);
    expect(status).toBe(200);
    if (body.event.status === 'succeeded' || body.event.status === 'failed') return body.event;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`event ${id} did not settle`);
}

async function inferAndSettle(app: TestApp, body: Record<string, unknown>) {
  const added = await app.request('POST', '/v1/memories', { body: { ...body, infer: true } });
  expect(added.status).toBe(202);
  expect(added.body).toEqual({ event: expect.objectContaining({ id: expect.any(String), status: 'pending' }) });
  return settled(app, added.body.event.id);
}

async function memoriesOf(app: TestApp, userId: string) {
  const { body } = await app.request('GET', `/v1/memories?user_id=${userId}`);
  return body.memories as { id: string; content: string; metadata: Record<string, unknown> }[];
}

describe.each([
  { engine: 'rules', stated: 'I live in Paris', corrected: 'I moved to Berlin' },
  { engine: 'llm', stated: 'Lives in Paris', corrected: 'Lives in Berlin' },
])('inference with the $engine engine', ({ engine, stated, corrected }) => {
  let app: TestApp;
  let llm: FakeChatServer | undefined;

  beforeAll(async () => {
    if (engine === 'llm') llm = await startFakeChatServer(scriptedMemoryModel);
    app = await startTestApp(llm ? { LLM_BASE_URL: llm.baseUrl, LLM_MODEL: 'tiny-test', LLM_API_KEY: 'sk-test' } : {});
  });
  afterAll(async () => {
    await app.close();
    await llm?.close();
  });

  it('a stated, then corrected fact ends as one updated memory with a history of both', async () => {
    const first = await inferAndSettle(app, {
      user_id: 'alice',
      messages: [
        { role: 'user', content: 'Hi there! I live in Paris.' },
        { role: 'assistant', content: 'Lovely city.' },
      ],
    });
    expect(first).toMatchObject({ status: 'succeeded', engine, error: null, user_id: 'alice' });
    expect(first.results).toEqual([expect.objectContaining({ op: 'ADD', content: stated })]);

    const second = await inferAndSettle(app, {
      user_id: 'alice',
      messages: [{ role: 'user', content: 'Actually, I moved to Berlin.' }],
    });
    expect(second.results).toEqual([
      expect.objectContaining({
        op: 'UPDATE',
        memory_id: first.results[0].memory_id,
        content: corrected,
        previous_content: stated,
        reason: expect.any(String),
      }),
    ]);

    const memories = await memoriesOf(app, 'alice');
    expect(memories.map((m) => m.content)).toEqual([corrected]);
    expect(memories[0].metadata.inference).toEqual({
      event_id: second.id,
      op: 'UPDATE',
      reason: second.results[0].reason,
      engine,
    });
    const history = await app.request('GET', `/v1/memories/${memories[0].id}/history`);
    expect(
      history.body.history.map((h: { op: string; old_content: string; new_content: string; actor: string }) => [
        h.op,
        h.old_content,
        h.new_content,
        h.actor,
      ]),
    ).toEqual([
      ['ADD', null, stated, `api:inference:${engine}`],
      ['UPDATE', stated, corrected, `api:inference:${engine}`],
    ]);
  });

  it('repeating a known fact writes nothing', async () => {
    await inferAndSettle(app, { user_id: 'bob', content: 'I live in Oslo' });
    const again = await inferAndSettle(app, { user_id: 'bob', content: 'I live in Oslo' });
    expect(again.results.map((r: { op: string }) => r.op)).toEqual(['NONE']);
    expect(await memoriesOf(app, 'bob')).toHaveLength(1);
  });

  it('?wait=true answers once the inference is done; the add fields go to the memories it adds', async () => {
    const { status, body } = await app.request('POST', '/v1/memories?wait=true', {
      body: {
        user_id: 'carol',
        content: 'I enjoy hiking in the Alps',
        infer: true,
        metadata: { source: 'chat' },
        importance: 7,
      },
    });
    expect(status).toBe(200);
    expect(body.event.status).toBe('succeeded');
    const [memory] = await memoriesOf(app, 'carol');
    expect(memory).toMatchObject({
      importance: 7,
      status: 'ready',
      metadata: expect.objectContaining({ source: 'chat' }),
    });
  });

  it('mem0 clients: infer (the default) uses the engine and GET /mem0/v1/event/{id}/ reports it', async () => {
    const added = await app.request('POST', '/mem0/v3/memories/add/', {
      body: { messages: [{ role: 'user', content: 'I live in Madrid' }], user_id: 'dave' },
    });
    expect(added.status).toBe(200);
    let event;
    for (let i = 0; i < 200; i += 1) {
      event = (await app.request('GET', `/mem0/v1/event/${added.body.event_id}/`)).body;
      if (event.status === 'SUCCEEDED') break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(event).toMatchObject({ status: 'SUCCEEDED', metadata: { inferred: true } });
    expect(event.results).toEqual([
      expect.objectContaining({
        event: 'ADD',
        data: { memory: engine === 'llm' ? 'Lives in Madrid' : 'I live in Madrid' },
      }),
    ]);
    const sync = await app.request('POST', '/mem0/v3/memories/add/', {
      body: { messages: [{ role: 'user', content: 'I moved to Lisbon' }], user_id: 'dave', async_mode: false },
    });
    expect(sync.body.results).toEqual([expect.objectContaining({ event: 'UPDATE', id: event.results[0].id })]);
  });

  it('an unknown event id is a 404', async () => {
    const { status, body } = await app.request('GET', '/v1/events/0190f5a8-0000-7000-8000-000000000001');
    expect(status).toBe(404);
    expect(body.error.code).toBe('MEMORY_NOT_FOUND');
  });
});

describe('inference with a malformed LLM reply', () => {
  let app: TestApp;
  let llm: FakeChatServer;
  const seen: ChatRequest[] = [];

  beforeAll(async () => {
    llm = await startFakeChatServer((request) => {
      seen.push(request);
      return '{"facts": ["Lives in Paris", ';
    });
    app = await startTestApp({ LLM_BASE_URL: llm.baseUrl, LLM_MODEL: 'tiny-test' });
  });
  afterAll(async () => {
    await app.close();
    await llm.close();
  });

  it('loses nothing: after two bad replies the messages are stored as they are, with the failure recorded', async () => {
    const event = await inferAndSettle(app, {
      user_id: 'erin',
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'I live in Paris and I am allergic to peanuts.' },
        { role: 'assistant', content: 'Noted.' },
      ],
    });
    expect(llm.requests).toHaveLength(2);
    expect(event.status).toBe('succeeded');
    expect(event.error).toMatch(/replied twice without valid JSON/);
    expect(event.results.map((r: { op: string; content: string }) => [r.op, r.content])).toEqual([
      ['ADD', 'I live in Paris and I am allergic to peanuts.'],
      ['ADD', 'Noted.'],
    ]);
    const memories = await memoriesOf(app, 'erin');
    expect(memories.map((m) => m.content).sort()).toEqual(['I live in Paris and I am allergic to peanuts.', 'Noted.']);
    for (const memory of memories) expect(memory.metadata.inference_error).toBe(event.error);
  });

  it('a batch refuses infer', async () => {
    const { status, body } = await app.request('POST', '/v1/memories/batch', {
      body: { memories: [{ user_id: 'erin', content: 'x', infer: true }] },
    });
    expect(status).toBe(400);
    expect(JSON.stringify(body.error.details)).toMatch(/infer/);
  });
});
