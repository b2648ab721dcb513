import { Injectable } from '@nestjs/common';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { MemoryTools } from './memory.tools.js';

const INSTRUCTIONS =
  'Engram is long-term memory. Every call that reads or writes many memories needs a scope: user_id (a person), ' +
  'agent_id (an agent) and/or run_id (one session); use the same ids across conversations to find memories again. ' +
  'Search before answering questions that depend on earlier conversations; add durable facts, preferences and ' +
  'decisions as short self-contained statements; update a memory rather than adding a contradicting one.';

/**
 * A new MCP server per HTTP request: the endpoint is stateless (no session to pin to one process behind a load
 * balancer, nothing to expire), and each server only ever serves the caller of its one request.
 */
@Injectable()
export class McpServerFactory {
  constructor(private readonly memoryTools: MemoryTools) {}

  create(): McpServer {
    const server = new McpServer(
      { name: 'engram', title: 'Engram', version: '1' },
      { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
    );
    this.memoryTools.register(server);
    return server;
  }
}
