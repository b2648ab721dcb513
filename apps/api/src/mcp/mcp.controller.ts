import { Controller, Delete, Get, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ENGRAM_CONFIG, type EngramConfig } from '@engram/config';
import { RequireScopes } from '@engram/memory-core';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '@engram/http';
import { McpServerFactory } from './mcp-server.factory.js';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * MCP over streamable HTTP at `/mcp`, stateless: every POST carries its JSON-RPC messages and gets their answers as
 * one JSON response, from a server made for that request. A Nest route, so the global AuthGuard authenticates the key
 * and the request-context interceptor gives the tools the caller's tenant, as on every REST route. Any key of a
 * tenant may open it (MCP clients hold one key for every tool); each tool checks the scope it needs.
 */
@ApiTags('mcp')
@RequireScopes()
@Controller('mcp')
export class McpController {
  /** OSS without ENGRAM_API_KEY: nothing but the host's own address stands between a web page and the memories. */
  private readonly keyless: boolean;

  constructor(
    private readonly servers: McpServerFactory,
    @Inject(ENGRAM_CONFIG) config: EngramConfig,
  ) {
    this.keyless = config.edition === 'oss' && config.apiKey === undefined;
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'MCP (streamable HTTP, stateless): the memory tools for agents' })
  async post(@Req() request: FastifyRequest): Promise<Response> {
    if (this.keyless) assertLoopbackCaller(request);
    const server = this.servers.create();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    try {
      await server.connect(transport);
      return await transport.handleRequest(webRequestOf(request), { parsedBody: request.body });
    } finally {
      await server.close();
    }
  }

  /**
   * No standalone event stream and no session to end: the server sends nothing unasked and keeps no sessions. The
   * protocol's answer for that is a 405, which MCP clients expect.
   */
  @Get()
  @ApiOperation({ summary: 'Not offered: this MCP endpoint is stateless (405)' })
  stream(): Response {
    return methodNotAllowed();
  }

  @Delete()
  @ApiOperation({ summary: 'Not offered: this MCP endpoint keeps no sessions (405)' })
  endSession(): Response {
    return methodNotAllowed();
  }
}

function methodNotAllowed(): Response {
  return Response.json(
    {
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless' },
      id: null,
    },
    { status: 405, headers: { allow: 'POST' } },
  );
}

/** The Fastify request as the web-standard Request the transport reads (the body is already parsed). */
function webRequestOf(request: FastifyRequest): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else if (value !== undefined) headers.set(name, value);
  }
  // The URL only informs the tools (requestInfo); a Host header that makes no URL must not fail the request.
  const origin = `${request.protocol}://${request.host}`;
  const url = new URL(request.url, URL.canParse(origin) ? origin : 'http://localhost');
  return new Request(url, { method: request.method, headers });
}

/**
 * The MCP transport's rule against DNS rebinding: a server that asks for no key must check who is calling. A page
 * whose domain was rebound to 127.0.0.1 sends its own domain as Host (and Origin); a local client sends a loopback one.
 */
function assertLoopbackCaller(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (
    !LOOPBACK.has(hostnameOf(`http://${request.host}`)) ||
    (origin !== undefined && !LOOPBACK.has(hostnameOf(origin)))
  ) {
    throw new ApiError(
      403,
      'FORBIDDEN',
      'without ENGRAM_API_KEY, /mcp answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1])',
    );
  }
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
