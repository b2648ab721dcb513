import type { SearchMode } from '@engram/memory-core';
import {
  BenchError,
  diaIdOf,
  type BenchMemory,
  type MemoryState,
  type RetrievalTarget,
  type SearchHit,
  type TargetDescription,
} from './retrieval-target.js';

/** A batch with `?wait=true` answers within the server's 30 s wait; this leaves room for a slow network. */
const REQUEST_TIMEOUT_MS = 120_000;
const LIST_PAGE = 1000;

interface MemoryBody {
  id: string;
  status: MemoryState['status'];
  failure_reason?: string;
  metadata: unknown;
}

interface ReadyBody {
  dependencies?: Record<string, { status?: string; model?: string; dimensions?: number; [key: string]: unknown }>;
}

/** A running server, through the native REST API of API.md, exactly as an outside client would use it. */
export class HttpTarget implements RetrievalTarget {
  private constructor(
    private readonly baseUrl: URL,
    private readonly apiKey: string | undefined,
    readonly description: TargetDescription,
  ) {}

  /** Checks that the server answers (GET /ready) and reads which embedder it runs. */
  static async connect(url: string, apiKey: string | undefined): Promise<HttpTarget> {
    let baseUrl: URL;
    try {
      baseUrl = new URL(url.endsWith('/') ? url : `${url}/`);
    } catch {
      throw new BenchError(`ENGRAM_URL must be a URL such as http://127.0.0.1:8080, got "${url}"`);
    }
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
      throw new BenchError(`ENGRAM_URL must be an http or https URL, got "${url}"`);
    }
    const probe = new HttpTarget(baseUrl, apiKey, { service: baseUrl.origin, provider: '', embedder: '' });
    const ready = await probe.request<ReadyBody>('GET', 'ready', undefined, [200, 503]);
    const embedder = ready.dependencies?.embedder;
    const storage = ready.dependencies?.storage;
    // Counters (latency, memories) say nothing about which backend it is; names and flags do.
    const storageDetails = storage
      ? Object.entries(storage)
          .filter(([key, value]) => key !== 'status' && typeof value !== 'number')
          .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
          .join(' ')
      : '';
    return new HttpTarget(baseUrl, apiKey, {
      service: baseUrl.origin,
      // The API does not name its backend; /ready's storage details are what it tells.
      provider: `server's${storageDetails ? ` (/ready storage: ${storageDetails})` : ''}`,
      embedder: embedder?.model
        ? `server's (${embedder.model}, ${embedder.dimensions ?? '?'}-d)`
        : "server's (unknown)",
    });
  }

  async clear(userId: string): Promise<void> {
    await this.request('DELETE', `v1/memories?${new URLSearchParams({ user_id: userId })}`);
  }

  async addBatch(userId: string, memories: readonly BenchMemory[]): Promise<MemoryState[]> {
    const body = { memories: memories.map((memory) => ({ ...memory, user_id: userId })) };
    const { memories: added } = await this.request<{ memories: MemoryBody[] }>(
      'POST',
      'v1/memories/batch?wait=true',
      body,
    );
    return added.map(stateOf);
  }

  async states(userId: string): Promise<MemoryState[]> {
    const states: MemoryState[] = [];
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ user_id: userId, limit: String(LIST_PAGE) });
      if (cursor) query.set('cursor', cursor);
      const page: { memories: MemoryBody[]; next_cursor: string | null } = await this.request(
        'GET',
        `v1/memories?${query}`,
      );
      states.push(...page.memories.map(stateOf));
      cursor = page.next_cursor;
    } while (cursor);
    return states;
  }

  async search(userId: string, query: string, mode: SearchMode, limit: number): Promise<SearchHit[]> {
    const { results } = await this.request<{ results: { memory: MemoryBody; score: number }[] }>(
      'POST',
      'v1/memories/search',
      { query, user_id: userId, mode, limit },
    );
    return results.map(({ memory, score }) => ({ diaId: diaIdOf(memory.metadata), score }));
  }

  async close(): Promise<void> {
    // Nothing held open: fetch pools its connections itself.
  }

  private async request<T>(method: string, path: string, body?: unknown, accept: readonly number[] = []): Promise<T> {
    const url = new URL(path, this.baseUrl);
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new BenchError(`${method} ${url.origin}${url.pathname} failed: ${cause}`);
    }
    const text = await response.text();
    if (!response.ok && !accept.includes(response.status)) {
      throw new BenchError(`${method} ${url.pathname} answered ${response.status}: ${errorMessage(text)}`);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new BenchError(`${method} ${url.pathname} answered ${response.status} with a body that is not JSON`);
    }
  }
}

/** The API's error envelope `{"error": {"code", "message"}}`, or the raw start of the body when it is not one. */
function errorMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (parsed.error?.message) return `${parsed.error.code ?? 'ERROR'}: ${parsed.error.message}`;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.slice(0, 200) || '(empty body)';
}

function stateOf(memory: MemoryBody): MemoryState {
  return { id: memory.id, status: memory.status, failureReason: memory.failure_reason ?? null };
}
