import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID } from '@engram/memory-core';
import { startTestApp, type TestApp } from './api-test.app.js';
import { spanAttribute as attribute, startOtlpReceiver, type OtlpReceiver } from './otlp-receiver.js';

describe('traces exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  let receiver: OtlpReceiver;
  let api: TestApp;
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  let memoryId: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    api = await startTestApp({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    const added = await api.request('POST', '/v1/memories?wait=true', {
      body: { content: 'Erin sails on Sundays', user_id: 'erin' },
    });
    expect(added.status).toBe(201);
    memoryId = added.body.memory.id as string;
    const read = await api.request('GET', `/v1/memories/${memoryId}`, {
      // A caller already in a trace: the server's span continues it.
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(read.status).toBe(200);
    // Closing the app flushes the spans still batched.
    await api.close();
  });
  afterAll(async () => {
    await receiver.close();
  });

  const spans = () => receiver.spans();

  it('sends JSON to <endpoint>/v1/traces, as service engram-api', () => {
    expect(receiver.exports.length).toBeGreaterThan(0);
    expect(receiver.contentTypes.every((type) => type.startsWith('application/json'))).toBe(true);
    const service = receiver.exports[0].resourceSpans[0].resource.attributes.find((a) => a.key === 'service.name');
    expect(service?.value.stringValue).toBe('engram-api');
  });

  it("names the request's span by its route pattern, continuing the caller's trace", () => {
    const server = spans().find((s) => s.name === 'GET /v1/memories/:id');
    expect(server).toBeDefined();
    expect(server!.traceId).toBe(traceId);
    expect(server!.parentSpanId).toBe('00f067aa0ba902b7');
    expect(attribute(server!, 'http.route')).toBe('/v1/memories/:id');
    expect(attribute(server!, 'http.response.status_code')).toBe(200);
    expect(JSON.stringify(server)).not.toContain(memoryId);
  });

  it('nests the memory operation under the request, with the tenant', () => {
    const server = spans().find((s) => s.name === 'GET /v1/memories/:id')!;
    const get = spans().find((s) => s.name === 'memory.get' && s.traceId === traceId);
    expect(get).toBeDefined();
    expect(get!.parentSpanId).toBe(server.spanId);
    expect(attribute(get!, 'engram.tenant_id')).toBe(OSS_TENANT_ID);
    const add = spans().find((s) => s.name === 'memory.add');
    const post = spans().find((s) => s.name === 'POST /v1/memories');
    expect(add?.parentSpanId).toBe(post?.spanId);
    expect(attribute(add!, 'engram.items')).toBe(1);
  });

  it('traces the embedding batches', () => {
    const batch = spans().find((s) => s.name === 'embedding.batch');
    expect(batch).toBeDefined();
    expect(attribute(batch!, 'engram.items')).toBeGreaterThanOrEqual(1);
  });
});
