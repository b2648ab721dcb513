import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: { role: string; content: string }[];
}

/** An OpenAI-compatible chat endpoint on loopback whose replies a test scripts; it records every request. */
export interface FakeChatServer {
  /** The API root to give as LLM_BASE_URL (ends in /v1). */
  baseUrl: string;
  requests: ChatRequest[];
  /** The authorization headers received, in order. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

export async function startFakeChatServer(reply: (request: ChatRequest) => string): Promise<FakeChatServer> {
  const requests: ChatRequest[] = [];
  const authorizations: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatRequest;
      requests.push(request);
      authorizations.push(req.headers.authorization);
      const content = reply(request);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    authorizations,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/**
 * A tiny scripted "model" for the inference prompts: extraction turns "I live in X" / "I moved to X" into
 * "Lives in X" (other user sentences are kept as they are), and the decision step UPDATEs an existing
 * "Lives in ..." memory with a new one, ADDs the rest.
 */
export function scriptedMemoryModel(request: ChatRequest): string {
  const system = request.messages[0]?.content ?? '';
  const user = request.messages[1]?.content ?? '';
  if (system.includes('extract durable facts')) {
    const facts = user
      .split('\n')
      .filter((line) => line.startsWith('user: '))
      .map((line) => line.slice('user: '.length))
      .map((text) => {
        const place = /(?:live in|moved to)\s+([A-Z]\w+)/.exec(text);
        return place ? `Lives in ${place[1]}` : text;
      });
    return '```json\n' + JSON.stringify({ facts }) + '\n```';
  }
  const { existing_memories: existing, new_facts: facts } = JSON.parse(user) as {
    existing_memories: { id: string; text: string }[];
    new_facts: { fact: number; text: string }[];
  };
  const decisions = facts.map(({ fact, text }) => {
    const same = existing.find((memory) => memory.text === text);
    if (same) return { fact, op: 'NONE', id: same.id, reason: 'already known' };
    const home = text.startsWith('Lives in') ? existing.find((m) => m.text.startsWith('Lives in')) : undefined;
    if (home) return { fact, op: 'UPDATE', id: home.id, text, reason: 'the user moved' };
    return { fact, op: 'ADD', text, reason: 'new information' };
  });
  return JSON.stringify({ decisions });
}
