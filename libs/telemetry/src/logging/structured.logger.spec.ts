import { describe, expect, it } from '@jest/globals';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { OSS_TENANT_ID, runInRequestContext, type TenantId } from '@engram/memory-core';
import { StructuredLogger, type LogFormat, type LogLevel } from './structured.logger.js';

function newLogger(options: { format?: LogFormat; level?: LogLevel | 'silent' } = {}) {
  const lines: string[] = [];
  const sut = new StructuredLogger({
    format: options.format ?? 'json',
    level: options.level ?? 'info',
    sink: { write: (line: string) => lines.push(line) },
  });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { sut, lines, entries };
}

describe('StructuredLogger', () => {
  it('should write one JSON line per entry with time, level, context and msg', () => {
    const { sut, lines, entries } = newLogger();
    sut.log('queue started', 'EmbeddingQueue');
    sut.warn('slow batch');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    const [first, second] = entries();
    expect(Object.keys(first)).toEqual(['time', 'level', 'context', 'msg']);
    expect(first).toMatchObject({ level: 'info', context: 'EmbeddingQueue', msg: 'queue started' });
    expect(new Date(first.time as string).toISOString()).toBe(first.time);
    expect(second).toMatchObject({ level: 'warn', context: 'app', msg: 'slow batch' });
  });

  it("should add the request's id and tenant inside a request context", () => {
    const { sut, entries } = newLogger();
    const tenantId = '0190aaaa-0000-7000-8000-000000000001' as TenantId;
    runInRequestContext(
      { requestId: 'req-42', principal: { kind: 'tenant', tenantId, scopes: new Set(['memories:read']) } },
      () => sut.log('searched', 'MemoryService'),
    );
    runInRequestContext({ requestId: 'req-43', principal: { kind: 'anonymous' } }, () => sut.log('probe'));
    sut.log('outside');
    const [inTenant, anonymous, outside] = entries();
    expect(inTenant).toMatchObject({ msg: 'searched', request_id: 'req-42', tenant_id: tenantId });
    expect(anonymous).toMatchObject({ request_id: 'req-43' });
    expect(anonymous).not.toHaveProperty('tenant_id');
    expect(outside).not.toHaveProperty('request_id');
  });

  it("should follow Nest's error convention (message, stack, context) and log Errors with their stack", () => {
    const { sut, entries } = newLogger();
    sut.error('job failed', 'Error: boom\n    at run (x.ts:1:1)', 'EmbeddingPipeline');
    sut.error(new Error('lost connection'), 'PostgresMemoryProvider');
    const [convention, error] = entries();
    expect(convention).toMatchObject({
      level: 'error',
      context: 'EmbeddingPipeline',
      msg: 'job failed',
      stack: 'Error: boom\n    at run (x.ts:1:1)',
    });
    expect(error).toMatchObject({ level: 'error', context: 'PostgresMemoryProvider', msg: 'lost connection' });
    expect(error.stack).toMatch(/^Error: lost connection\n/);
  });

  it('should keep structured fields, but never let them replace the fixed ones', () => {
    const { sut, entries } = newLogger();
    sut.write('info', 'http', 'request', { status: 200, duration_ms: 1.5, level: 'fatal', msg: 'forged' });
    sut.log({ msg: 'flushed', count: 12 }, 'AccessRecorder');
    const [access, object] = entries();
    expect(access).toEqual({
      time: expect.any(String),
      level: 'info',
      context: 'http',
      msg: 'request',
      status: 200,
      duration_ms: 1.5,
    });
    expect(object).toMatchObject({ context: 'AccessRecorder', msg: 'flushed', count: 12 });
  });

  it('should drop entries below the configured level, and everything when silent', () => {
    const warnOnly = newLogger({ level: 'warn' });
    warnOnly.sut.debug('detail');
    warnOnly.sut.log('info');
    warnOnly.sut.warn('warned');
    warnOnly.sut.fatal('fatal');
    expect(warnOnly.entries().map((e) => e.level)).toEqual(['warn', 'fatal']);
    expect(warnOnly.sut.isEnabled('info')).toBe(false);

    const trace = newLogger({ level: 'trace' });
    trace.sut.verbose('every step');
    expect(trace.entries()).toMatchObject([{ level: 'trace', msg: 'every step' }]);

    const silent = newLogger({ level: 'silent' });
    silent.sut.fatal('nothing');
    expect(silent.lines).toEqual([]);
  });

  it('should write readable text lines when the format is text', () => {
    const { sut, lines } = newLogger({ format: 'text' });
    runInRequestContext(
      { requestId: 'req-7', principal: { kind: 'tenant', tenantId: OSS_TENANT_ID, scopes: new Set() } },
      () => sut.warn('retrying', 'Queue'),
    );
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z WARN  \\[Queue\\] retrying request_id=req-7 tenant_id=${OSS_TENANT_ID}\\n$`,
      ),
    );
  });

  it("should be the logger of a Nest app: Nest's Logger instances write through it", async () => {
    @Module({})
    class EmptyModule {}
    const { sut, entries } = newLogger();
    const app = await NestFactory.createApplicationContext(EmptyModule, { logger: sut });
    try {
      new Logger('Probe').log('hello from a service');
      expect(entries()).toContainEqual(
        expect.objectContaining({ level: 'info', context: 'Probe', msg: 'hello from a service' }),
      );
    } finally {
      await app.close();
    }
  });
});
