import { describe, expect, it } from '@jest/globals';
import { Observed, type MemoryTelemetry } from '@engram/memory-core';
import { Tracing } from '../tracing/tracing.js';
import { EngramMetrics } from './engram-metrics.js';
import { ObservedMemoryTelemetry } from './observed.memory-telemetry.js';

/** A service shaped like MemoryService: its methods are measured through its `telemetry` field. */
class ObservedService {
  constructor(readonly telemetry?: MemoryTelemetry) {}

  @Observed('add', (items: readonly string[]) => items.length)
  async addMany(items: readonly string[]): Promise<string[]> {
    return items.map((item) => item.toUpperCase());
  }

  @Observed('get')
  async get(id: string): Promise<string> {
    if (id === 'missing') throw new Error(`memory ${id} not found`);
    return id;
  }
}

async function sample(metrics: EngramMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await metrics.render();
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `) ? wanted.every((w) => l.includes(w)) : false));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('ObservedMemoryTelemetry through @Observed', () => {
  it('should time each call by operation and outcome, and count the memories an add carried', async () => {
    const metrics = new EngramMetrics();
    const sut = new ObservedService(new ObservedMemoryTelemetry(metrics, Tracing.disabled()));

    await expect(sut.addMany(['a', 'b', 'c'])).resolves.toEqual(['A', 'B', 'C']);
    await expect(sut.get('m1')).resolves.toBe('m1');
    await expect(sut.get('missing')).rejects.toThrow('memory missing not found');

    const count = 'engram_memory_operation_duration_seconds_count';
    expect(await sample(metrics, count, { operation: 'add', outcome: 'ok' })).toBe(1);
    expect(await sample(metrics, count, { operation: 'get', outcome: 'ok' })).toBe(1);
    expect(await sample(metrics, count, { operation: 'get', outcome: 'error' })).toBe(1);
    expect(await sample(metrics, count, { operation: 'search', outcome: 'ok' })).toBe(0);
    expect(await sample(metrics, 'engram_memories_added_total')).toBe(3);
  });

  it('should leave the methods working, unmeasured, without a telemetry', async () => {
    const sut = new ObservedService();
    await expect(sut.addMany(['x'])).resolves.toEqual(['X']);
    await expect(sut.get('missing')).rejects.toThrow('not found');
  });

  it('should count inference runs by outcome', async () => {
    const metrics = new EngramMetrics();
    const sut = new ObservedMemoryTelemetry(metrics, Tracing.disabled());
    sut.inferenceFinished('fallback');
    sut.inferenceFinished('fallback');
    sut.inferenceFinished('succeeded');
    expect(await sample(metrics, 'engram_inference_events_total', { outcome: 'fallback' })).toBe(2);
    expect(await sample(metrics, 'engram_inference_events_total', { outcome: 'succeeded' })).toBe(1);
    expect(await sample(metrics, 'engram_inference_events_total', { outcome: 'failed' })).toBe(0);
  });
});
