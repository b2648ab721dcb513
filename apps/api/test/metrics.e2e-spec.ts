import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OSS_TENANT_ID } from '@engram/memory-core';
import { startTestApp, type TestApp } from './api-test.app.js';
import { routeRules } from './route-rules.js';

const KEY = 'metrics-test-key';
const auth = { authorization: `Bearer ${KEY}` };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (comments skipped), labels as a map so their order does not matter. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key] = value;
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when the series does not exist yet. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value ?? 0;
}

describe('GET /metrics', () => {
  let api: TestApp;
  const scrape = async () => {
    const res = await api.request('GET', '/metrics', { headers: auth });
    expect(res.status).toBe(200);
    return { text: res.body as string, samples: parseExposition(res.body as string), headers: res.headers };
  };

  beforeAll(async () => {
    api = await startTestApp({ ENGRAM_API_KEY: KEY });
  });
  afterAll(() => api.close());

  it('asks for the API key when one is set, like every tenant route', async () => {
    expect((await api.request('GET', '/metrics')).status).toBe(401);
    expect((await api.request('GET', '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const rule = routeRules(api.app).find((r) => r.route === 'GET /metrics')?.rule;
    expect(rule).toEqual({ audience: 'tenant', scopes: ['admin'] });
  });

  it('answers in the Prometheus text format, with the process metrics', async () => {
    const { samples, headers } = await scrape();
    expect(String(headers['content-type'])).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
    expect(samples.some((s) => s.name === 'engram_embedding_queue_depth')).toBe(true);
  });

  it('counts HTTP requests by method, route pattern and status, with their durations', async () => {
    const user = `metrics-user-${Date.now()}`;
    const before = (await scrape()).samples;
    const added = await api.request('POST', '/v1/memories?wait=true', {
      headers: auth,
      body: { content: 'Carol keeps bees on the roof', user_id: user },
    });
    expect(added.status).toBe(201);
    const id = added.body.memory.id as string;
    expect((await api.request('GET', `/v1/memories/${id}`, { headers: auth })).status).toBe(200);
    expect((await api.request('GET', `/v1/memories/${id}`, { headers: auth })).status).toBe(200);
    const missing = '01900000-0000-7000-8000-000000000000';
    expect((await api.request('GET', `/v1/memories/${missing}`, { headers: auth })).status).toBe(404);
    expect((await api.request('GET', `/no/such/route/${id}`, { headers: auth })).status).toBe(404);
    const { samples, text } = await scrape();

    const count = (labels: Record<string, string>) =>
      valueOf(samples, 'engram_http_request_duration_seconds_count', labels) -
      valueOf(before, 'engram_http_request_duration_seconds_count', labels);
    expect(count({ method: 'POST', route: '/v1/memories', status: '201' })).toBe(1);
    expect(count({ method: 'GET', route: '/v1/memories/:id', status: '200' })).toBe(2);
    expect(count({ method: 'GET', route: '/v1/memories/:id', status: '404' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const slowest = valueOf(samples, 'engram_http_request_duration_seconds_bucket', {
      method: 'GET',
      route: '/v1/memories/:id',
      status: '200',
      le: '+Inf',
    });
    expect(slowest).toBe(
      valueOf(samples, 'engram_http_request_duration_seconds_count', {
        method: 'GET',
        route: '/v1/memories/:id',
        status: '200',
      }),
    );
    expect(
      valueOf(samples, 'engram_http_request_duration_seconds_sum', { route: '/v1/memories/:id', status: '200' }),
    ).toBeGreaterThan(0);

    // No identifier of a memory, user or tenant, and no raw URL, in any label: only bounded values.
    for (const forbidden of [id, missing, user, OSS_TENANT_ID, '/no/such/route']) expect(text).not.toContain(forbidden);
    for (const sample of samples) expect(Object.keys(sample.labels)).not.toContain('tenant_id');
  });

  it('times memory operations by operation and outcome, and the embedding batches', async () => {
    const user = `metrics-ops-${Date.now()}`;
    const before = (await scrape()).samples;
    const added = await api.request('POST', '/v1/memories/batch?wait=true', {
      headers: auth,
      body: {
        memories: [
          { content: 'Dan plays the cello', user_id: user },
          { content: 'Dan lives in Lyon', user_id: user },
        ],
      },
    });
    expect([201, 202]).toContain(added.status);
    await api.request('POST', '/v1/memories?wait=true', {
      headers: auth,
      body: { content: 'Dan likes figs', user_id: user },
    });
    for (let i = 0; i < 3; i++) {
      const search = await api.request('POST', '/v1/memories/search', {
        headers: auth,
        body: { query: 'cello', user_id: user },
      });
      expect(search.status).toBe(200);
    }
    const unknown = '01900000-0000-7000-8000-000000000001';
    expect((await api.request('GET', `/v1/memories/${unknown}`, { headers: auth })).status).toBe(404);
    const { samples } = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) =>
      valueOf(samples, name, labels) - valueOf(before, name, labels);
    expect(delta('engram_memory_operation_duration_seconds_count', { operation: 'search', outcome: 'ok' })).toBe(3);
    expect(delta('engram_memory_operation_duration_seconds_count', { operation: 'add', outcome: 'ok' })).toBe(2);
    expect(delta('engram_memory_operation_duration_seconds_count', { operation: 'get', outcome: 'error' })).toBe(1);
    expect(delta('engram_memories_added_total')).toBe(3);
    expect(delta('engram_embedding_batch_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(delta('engram_embedding_jobs_total', { outcome: 'ok' })).toBe(3);
    expect(valueOf(samples, 'engram_embedding_queue_depth')).toBe(0);
    for (const outcome of ['succeeded', 'fallback', 'failed']) {
      expect(samples.some((s) => s.name === 'engram_inference_events_total' && s.labels.outcome === outcome)).toBe(
        true,
      );
    }
  });

  it('counts inference runs by how they ended', async () => {
    const { samples: before } = await scrape();
    const inferred = await api.request('POST', '/v1/memories?wait=true', {
      headers: auth,
      body: { user_id: 'metrics-infer', infer: true, messages: [{ role: 'user', content: 'I live in Rome.' }] },
    });
    expect(inferred.body.event.status).toBe('succeeded');
    const { samples } = await scrape();
    const runs = (outcome: string) =>
      valueOf(samples, 'engram_inference_events_total', { outcome }) -
      valueOf(before, 'engram_inference_events_total', { outcome });
    expect([runs('succeeded'), runs('fallback'), runs('failed')]).toEqual([1, 0, 0]);
  });
});
