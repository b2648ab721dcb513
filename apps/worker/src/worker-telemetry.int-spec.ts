import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { loadConfig } from '@engram/config';
import { MEMORY_TELEMETRY, MemoryService, OSS_TENANT_ID } from '@engram/memory-core';
import { EngramMetrics, ObservedMemoryTelemetry, StructuredLogger } from '@engram/telemetry';
import { WorkerMetricsServer } from './metrics.server.js';
import { WorkerModule } from './worker.module.js';

/** The worker's composition: its embedding batches are measured, and Nest logs through the structured logger. */
describe('worker telemetry', () => {
  let dataDir: string;
  let worker: INestApplicationContext;
  const lines: string[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'engram-worker-'));
    // The embedded default (local provider, in-process queue): the worker's pipeline runs on this process's queue.
    const config = loadConfig({ DATA_DIR: dataDir, MEMORY_PROVIDER: 'local', EMBEDDINGS_PROVIDER: 'hash' });
    const logger = new StructuredLogger({
      format: 'json',
      level: 'info',
      sink: { write: (l: string) => lines.push(l) },
    });
    // Port 0: the metrics server on a free port, read back from the server.
    worker = await NestFactory.createApplicationContext(await WorkerModule.forRoot({ ...config, metricsPort: 0 }), {
      logger,
    });
  });
  afterAll(async () => {
    await worker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('binds the observed telemetry, so embedding batches are timed and counted', async () => {
    expect(worker.get(MEMORY_TELEMETRY)).toBeInstanceOf(ObservedMemoryTelemetry);
    const memories = worker.get(MemoryService);
    const added = await memories.add(
      { tenantId: OSS_TENANT_ID, userId: 'worker-user' },
      { content: 'Frank repairs clocks' },
      { wait: true },
    );
    expect(added.status).toBe('ready');
    const text = await worker.get(EngramMetrics).render();
    expect(text).toMatch(/^engram_embedding_batch_duration_seconds_count\{outcome="ok"\} [1-9]/m);
    expect(text).toMatch(/^engram_embedding_jobs_total\{outcome="ok"\} 1$/m);
    expect(text).toMatch(/^engram_memory_operation_duration_seconds_count\{operation="add",outcome="ok"\} 1$/m);
  });

  it('serves its metrics and a liveness answer over HTTP, and nothing else', async () => {
    const address = worker.get(WorkerMetricsServer).address;
    expect(address).not.toBeNull();
    const base = `http://127.0.0.1:${address!.port}`;
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toMatch(/^engram_embedding_jobs_total\{outcome="ok"\} 1$/m);
    const health = await fetch(`${base}/health`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
    expect((await fetch(`${base}/v1/memories`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it("writes Nest's own lines as JSON", () => {
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.length).toBeGreaterThan(0);
    for (const entry of entries) expect(Object.keys(entry).slice(0, 4)).toEqual(['time', 'level', 'context', 'msg']);
  });
});
