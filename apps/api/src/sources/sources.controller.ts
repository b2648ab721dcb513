import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { MEMORY_SOURCE_NAME, MemoryService, RequireScopes } from '@engram/memory-core';
import { ValidParam } from '@engram/http';
import { presentMemorySource } from './memory-source.presenter.js';

const sourceNameSchema = z.string().regex(MEMORY_SOURCE_NAME, 'must be 1-100 letters, digits or . _ : -');

/**
 * The named memory sources the deployment declares (MEMORY_SOURCES_FILE): namespaces with a description, a default
 * TTL and a default search mode. Reading them is reading about memories, hence `memories:read`.
 */
@ApiTags('sources')
@Controller('v1/sources')
export class SourcesController {
  constructor(private readonly memories: MemoryService) {}

  @Get()
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'List the named memory sources, with their defaults' })
  list() {
    return { sources: this.memories.listSources().map(presentMemorySource) };
  }

  @Get(':name')
  @RequireScopes('memories:read')
  @ApiOperation({ summary: 'One named memory source; 404 SOURCE_NOT_FOUND when it is not declared' })
  get(@ValidParam('name', sourceNameSchema) name: string) {
    return { source: presentMemorySource(this.memories.getSource(name)) };
  }
}
