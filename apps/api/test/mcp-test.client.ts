import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { TestApp } from './api-test.app.js';

/** The test app, listening on a loopback port of its own (the MCP client speaks real HTTP); its base URL. */
export async function listenOnLoopback(api: TestApp): Promise<URL> {
  await api.app.listen(0, '127.0.0.1');
  return new URL(await api.app.getUrl());
}

/** The MCP SDK's own client, connected to `/mcp` over streamable HTTP, with these headers on every request. */
export async function connectMcp(base: URL, headers: Record<string, string> = {}): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit: { headers } });
  const client = new Client({ name: 'engram-test', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Calls a tool; a tool error comes back as a result (the session goes on), so tests look at `isError`. */
export async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

/** The structured content of a successful call (failing the test, with the tool's message, on a tool error). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
export async function callOk<T = any>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${textOf(result)}`);
  return result.structuredContent as T;
}

export function textOf(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
}
