import { afterEach, describe, expect, it } from '@jest/globals';
import { startFakeChatServer, scriptedMemoryModel, type FakeChatServer } from '../test/fake-chat.server.js';
import { InferenceException, InferenceExceptionCode } from './inference-engine.js';
import { LlmInferenceEngine } from './llm.inference-engine.js';

describe('LlmInferenceEngine (against an OpenAI-compatible server on loopback)', () => {
  let server: FakeChatServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const engineOn = (s: FakeChatServer) =>
    LlmInferenceEngine.fromConfig({ baseUrl: s.baseUrl, model: 'tiny-test', apiKey: 'sk-test' });

  it('extracts facts from the JSON reply (a code fence around it is tolerated), with the configured model and key', async () => {
    server = await startFakeChatServer(scriptedMemoryModel);
    const facts = await engineOn(server).extract([
      { role: 'system', content: 'be nice' },
      { role: 'user', content: 'I live in Paris' },
      { role: 'assistant', content: 'Nice!' },
    ]);
    expect(facts).toEqual(['Lives in Paris']);
    expect(server.requests[0].model).toBe('tiny-test');
    expect(server.authorizations[0]).toBe('Bearer sk-test');
    expect(server.requests[0].messages[1].content).not.toContain('be nice');
  });

  it('decides with short memory aliases and maps them back to the memory ids', async () => {
    server = await startFakeChatServer(scriptedMemoryModel);
    const id = '0190f5a8-0000-7000-8000-000000000001';
    const decisions = await engineOn(server).decide(
      ['Lives in Berlin', 'Likes tea'],
      [{ id, content: 'Lives in Paris' }],
    );
    expect(decisions).toEqual([
      { fact: 0, op: 'UPDATE', target: id, content: 'Lives in Berlin', reason: 'the user moved' },
      { fact: 1, op: 'ADD', content: 'Likes tea', reason: 'new information' },
    ]);
    expect(server.requests[0].messages[1].content).not.toContain(id);
  });

  it('asks once more after a bad reply, saying what was wrong', async () => {
    let calls = 0;
    server = await startFakeChatServer(() =>
      ++calls === 1 ? 'Sure! Here are the facts: Lives in Paris' : '{"facts": ["Lives in Paris"]}',
    );
    expect(await engineOn(server).extract([{ role: 'user', content: 'I live in Paris' }])).toEqual(['Lives in Paris']);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1].messages.at(-1)?.content).toMatch(/not usable \(no JSON object/);
  });

  it('refuses a reply that does not match the schema, or names a memory it was not given', async () => {
    server = await startFakeChatServer(
      () => '{"decisions": [{"fact": 0, "op": "UPDATE", "id": "m7", "text": "x", "reason": "r"}]}',
    );
    const failure = await engineOn(server)
      .decide(['Lives in Berlin'], [{ id: 'a', content: 'Lives in Paris' }])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InferenceException);
    expect((failure as InferenceException).code).toBe(InferenceExceptionCode.BAD_OUTPUT);
    expect((failure as Error).message).toMatch(/unknown memory id m7/);
    expect(server.requests).toHaveLength(2);
  });

  it('fails with BAD_OUTPUT after two malformed replies', async () => {
    server = await startFakeChatServer(() => '{"facts": ["unterminated');
    await expect(engineOn(server).extract([{ role: 'user', content: 'I live in Paris' }])).rejects.toMatchObject({
      code: InferenceExceptionCode.BAD_OUTPUT,
    });
    expect(server.requests).toHaveLength(2);
  });

  it('keeps a fact the model gave no decision for', async () => {
    server = await startFakeChatServer(() => '{"decisions": []}');
    expect(await engineOn(server).decide(['Likes tea'], [])).toEqual([
      { fact: 0, op: 'ADD', content: 'Likes tea', reason: 'the model gave no decision for it: kept' },
    ]);
  });

  it('reports an unreachable endpoint as UNAVAILABLE', async () => {
    const engine = LlmInferenceEngine.fromConfig({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm', timeoutMs: 2000 });
    await expect(engine.extract([{ role: 'user', content: 'I live in Paris' }])).rejects.toMatchObject({
      code: InferenceExceptionCode.UNAVAILABLE,
    });
  });
});
