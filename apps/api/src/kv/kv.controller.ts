import { Controller, Delete, Get, HttpCode, Inject, Post, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  CLOCK,
  KEY_VALUE_PROVIDER,
  RequireScopes,
  TENANT_PROVIDER,
  kvNotFound,
  type Clock,
  type KeyValueProvider,
  type TenantProvider,
} from '@engram/memory-core';
import { ApiJsonBody, ValidBody, ValidParam, ValidQuery } from '@engram/http';
import {
  batchSetKvSchema,
  kvKeySchema,
  kvKeysSchema,
  listKvQuerySchema,
  putKvSchema,
  type BatchSetKvBody,
  type ListKvQuery,
  type PutKvBody,
} from './dto/kv.dto.js';
import { presentKvEntry } from './kv-entry.presenter.js';

/** Key-value memory. A key may hold `/`: the key routes take the rest of the path. */
@ApiTags('kv')
@Controller('v1/kv')
export class KvController {
  constructor(
    @Inject(KEY_VALUE_PROVIDER) private readonly kv: KeyValueProvider,
    @Inject(TENANT_PROVIDER) private readonly tenants: TenantProvider,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @RequireScopes('kv:read')
  @ApiOperation({ summary: 'Scan entries by key prefix and/or tag (name:value), with a cursor' })
  async list(@ValidQuery(listKvQuerySchema) query: ListKvQuery) {
    const tag = query.tag === undefined ? undefined : splitTag(query.tag);
    const page = await this.kv.scan(this.tenants.currentTenant(), {
      prefix: query.prefix,
      tag,
      cursor: query.cursor,
      limit: query.limit,
    });
    return { entries: page.entries.map((e) => this.present(e)), next_cursor: page.nextCursor };
  }

  @Post('batch/get')
  @HttpCode(200)
  @RequireScopes('kv:read')
  @ApiJsonBody(kvKeysSchema)
  async batchGet(@ValidBody(kvKeysSchema) body: { keys: string[] }) {
    const entries = await this.kv.getMany(this.tenants.currentTenant(), body.keys);
    const found = new Set(entries.map((e) => e.key));
    return { entries: entries.map((e) => this.present(e)), missing: body.keys.filter((k) => !found.has(k)) };
  }

  @Post('batch/set')
  @HttpCode(200)
  @RequireScopes('kv:write')
  @ApiJsonBody(batchSetKvSchema)
  async batchSet(@ValidBody(batchSetKvSchema) body: BatchSetKvBody) {
    const written = await this.kv.setMany(
      this.tenants.currentTenant(),
      body.entries.map((e) => ({
        key: e.key,
        value: e.value,
        ttlSeconds: e.ttl_seconds,
        tags: e.tags,
        userId: e.user_id,
      })),
    );
    return { written };
  }

  @Post('batch/delete')
  @HttpCode(200)
  @RequireScopes('kv:write')
  @ApiJsonBody(kvKeysSchema)
  async batchDelete(@ValidBody(kvKeysSchema) body: { keys: string[] }) {
    return { deleted: await this.kv.deleteMany(this.tenants.currentTenant(), body.keys) };
  }

  @Put('*')
  @RequireScopes('kv:write')
  @ApiJsonBody(putKvSchema)
  @ApiOperation({ summary: 'Set a key (409 KV_EXISTS with if_not_exists on a live key)' })
  async put(@ValidParam('*', kvKeySchema) key: string, @ValidBody(putKvSchema) body: PutKvBody) {
    const entry = await this.kv.set(this.tenants.currentTenant(), key, body.value, {
      ttlSeconds: body.ttl_seconds,
      tags: body.tags,
      userId: body.user_id,
      ifNotExists: body.if_not_exists,
    });
    return { entry: this.present(entry) };
  }

  @Get('*')
  @RequireScopes('kv:read')
  async get(@ValidParam('*', kvKeySchema) key: string) {
    const entry = await this.kv.get(this.tenants.currentTenant(), key);
    if (!entry) throw kvNotFound(key);
    return { entry: this.present(entry) };
  }

  @Delete('*')
  @RequireScopes('kv:write')
  async delete(@ValidParam('*', kvKeySchema) key: string) {
    if (!(await this.kv.delete(this.tenants.currentTenant(), key))) throw kvNotFound(key);
    return { deleted: true };
  }

  private present(entry: Parameters<typeof presentKvEntry>[0]) {
    return presentKvEntry(entry, this.clock.now());
  }
}

function splitTag(tag: string): { name: string; value: string } {
  const at = tag.indexOf(':');
  return { name: tag.slice(0, at), value: tag.slice(at + 1) };
}
