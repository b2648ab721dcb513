import { scopeKey, type MemoryScope } from '@engram/memory-core';
import type { ScopeSearchIndex } from './scope-search.index.js';

export interface ScopeIndexOptions {
  /**
   * Scopes with fewer memories are searched by the statement alone: it reads them in a few milliseconds, and a copy
   * would cost memory and loads for little. Default 2,000.
   */
  minRows?: number;
  /** Scopes with more are searched through HNSW by the statement (PostgresMemoryProvider's exactScanMaxRows). */
  maxRows?: number;
  /** The memory all copies may take together; the least recently used copy goes first. 0 turns copies off. */
  maxBytes?: number;
  /**
   * The least time between two loads of one scope, in milliseconds, and at least this many times the last load's
   * duration: a scope written to between every two searches is then searched by the statement, not reloaded
   * each time. 0: reload whenever a search finds no copy (tests).
   */
  minReloadIntervalMs?: number;
  /**
   * A copy no search used for this long is dropped (default 5 minutes). A copy found out of date is dropped at
   * once, but one nobody searches is never checked: this bounds how long the words and vectors of memories
   * deleted since (a GDPR erase) can stay in this process's memory.
   */
  idleMs?: number;
  /**
   * The search that finds no copy waits for the load and is answered from it (tests: every search of the contract
   * kit then goes through a copy). Off by default: a search never waits for a load.
   */
  loadBeforeSearch?: boolean;
}

/** What the copies hold and how often they answered, for operators and tests. */
export interface ScopeIndexStats {
  copies: number;
  bytes: number;
  /** Searches answered from a copy. */
  hits: number;
  /** Copies found out of date (a write since they were read) and dropped. */
  stale: number;
  loads: number;
}

/** A scope's copy and the version of its bucket it was read at. */
export interface ScopeIndexEntry {
  readonly version: string | null;
  readonly index: ScopeSearchIndex;
}

interface StoredEntry extends ScopeIndexEntry {
  usedAt: number;
}

export const SCOPE_INDEX_MIN_ROWS = 2_000;
export const SCOPE_INDEX_MAX_BYTES = 256 * 1024 * 1024;
const MIN_RELOAD_INTERVAL_MS = 2_000;
const RELOAD_COST_FACTOR = 20;
const IDLE_MS = 5 * 60_000;
/**
 * A full budget whose least recently used copy served a search this recently is busy: a new copy would evict one in
 * use, which would be loaded again soon, and so on (every search a load). The new scope stays on the statement.
 */
const BUSY_MS = 10_000;
/** How full the budget must be for that rule to apply. */
const FULL_SHARE = 0.9;

/**
 * The in-memory copies of large scopes a process keeps (see ScopeSearchIndex), and when to make one: a scope that
 * names a user, searched without a filter, whose size is between minRows and maxRows. A copy is made in the
 * background after a search the statement answered (that search does not wait for it); at most one load runs at a
 * time per process. Whether a copy may be used is the caller's check (the version), made before every use.
 */
export class ScopeIndexCache {
  private readonly entries = new Map<string, StoredEntry>();
  private readonly lastLoad = new Map<string, { at: number; ms: number }>();
  private bytes = 0;
  private hits = 0;
  private stale = 0;
  private loads = 0;
  private loading: Promise<void> | null = null;
  readonly minRows: number;
  readonly maxRows: number;
  readonly loadBeforeSearch: boolean;
  private readonly maxBytes: number;
  private readonly minReloadIntervalMs: number;
  private readonly idleMs: number;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(options: ScopeIndexOptions = {}) {
    this.minRows = options.minRows ?? SCOPE_INDEX_MIN_ROWS;
    this.maxRows = options.maxRows ?? Infinity;
    this.maxBytes = options.maxBytes ?? SCOPE_INDEX_MAX_BYTES;
    this.minReloadIntervalMs = options.minReloadIntervalMs ?? MIN_RELOAD_INTERVAL_MS;
    this.idleMs = options.idleMs ?? IDLE_MS;
    this.loadBeforeSearch = options.loadBeforeSearch ?? false;
  }

  get enabled(): boolean {
    return this.maxBytes > 0;
  }

  /** Whether searches of this scope may ever come from a copy (the scope's shape, not its size). */
  covers(scope: MemoryScope, filtered: boolean): boolean {
    return this.enabled && !filtered && scope.userId !== undefined;
  }

  /** The scope's copy, if any, marked as the most recently used. */
  get(scope: MemoryScope): ScopeIndexEntry | undefined {
    const key = scopeKey(scope);
    const entry = this.entries.get(key);
    if (entry) {
      entry.usedAt = performance.now();
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** Forgets a copy found out of date. */
  drop(scope: MemoryScope): void {
    this.stale++;
    this.remove(scopeKey(scope));
  }

  /** Counts a search a copy answered. */
  hit(): void {
    this.hits++;
  }

  stats(): ScopeIndexStats {
    return { copies: this.entries.size, bytes: this.bytes, hits: this.hits, stale: this.stale, loads: this.loads };
  }

  /**
   * Starts loading the scope's copy when it qualifies and nothing holds it back (another load running, or this
   * scope loaded too recently). Never waits for the load, and never fails: a load that fails leaves no copy.
   */
  loadInBackground(scope: MemoryScope, size: number, load: () => Promise<ScopeIndexEntry>): void {
    if (!this.enabled || this.loading || size < this.minRows || size > this.maxRows) return;
    const key = scopeKey(scope);
    if (this.entries.has(key)) return;
    const now = performance.now();
    if (this.busy(now)) return;
    const last = this.lastLoad.get(key);
    if (last && this.minReloadIntervalMs > 0) {
      if (now - last.at < Math.max(this.minReloadIntervalMs, RELOAD_COST_FACTOR * last.ms)) return;
    }
    this.loading = (async () => {
      try {
        const entry = await load();
        this.lastLoad.delete(key);
        this.lastLoad.set(key, { at: now, ms: performance.now() - now });
        this.trimLoadHistory();
        this.loads++;
        this.store(key, entry);
      } catch {
        // The search statement still answers; the next qualifying search tries again.
      } finally {
        this.loading = null;
      }
    })();
  }

  /** Resolves when no load is running (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.loading) await this.loading;
  }

  /** The budget is nearly spent and even its least recently used copy served a search within BUSY_MS. */
  private busy(now: number): boolean {
    if (this.bytes < FULL_SHARE * this.maxBytes) return false;
    const oldest = this.entries.values().next();
    return !oldest.done && now - oldest.value.usedAt < BUSY_MS;
  }

  /** Drops the copies no search used for idleMs; returns how many. The sweeper calls it, tests too. */
  sweep(now = performance.now()): number {
    let dropped = 0;
    // Least recently used first: the first copy used recently enough ends the sweep.
    for (const [key, entry] of this.entries) {
      if (now - entry.usedAt < this.idleMs) break;
      this.remove(key);
      dropped++;
    }
    return dropped;
  }

  /** Drops every copy and stops the sweeper (the provider's close). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
    this.stopSweeper();
  }

  private store(key: string, entry: ScopeIndexEntry): void {
    this.remove(key);
    if (entry.index.bytes > this.maxBytes) return;
    while (this.bytes + entry.index.bytes > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
    }
    this.entries.set(key, { ...entry, usedAt: performance.now() });
    this.bytes += entry.index.bytes;
    if (!this.sweeper) {
      // Never keeps the process alive, and only runs while there are copies.
      this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, this.idleMs / 5));
      this.sweeper.unref();
    }
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.index.bytes;
    if (this.entries.size === 0) this.stopSweeper();
  }

  private stopSweeper(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** The load times only throttle reloads: a bounded number of the latest is enough. */
  private trimLoadHistory(): void {
    while (this.lastLoad.size > 10_000) {
      const oldest = this.lastLoad.keys().next();
      if (oldest.done) return;
      this.lastLoad.delete(oldest.value);
    }
  }
}
