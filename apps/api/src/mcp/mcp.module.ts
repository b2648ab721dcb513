import { Module } from '@nestjs/common';
import { McpServerFactory } from './mcp-server.factory.js';
import { McpController } from './mcp.controller.js';
import { MemoryTools } from './memory.tools.js';

/** The MCP endpoint (`/mcp`): agents' tools over the same services as the REST API. */
@Module({ controllers: [McpController], providers: [McpServerFactory, MemoryTools] })
export class McpModule {}
