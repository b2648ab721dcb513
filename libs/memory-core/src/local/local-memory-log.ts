import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Memory, MemoryHistoryEntry } from '../memory.js';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { asTenantId } from '../tenant.js';

/** Who a memory belongs to: kept on history rows so `history` can be scoped after the memory is deleted. */
export type MemoryOwner = Pick<Memory, 'tenantId' | 'userId' | 'agentId' | 'runId' | 'namespace'>;

export interface HistoryRow {
  entry: MemoryHistoryEntry;
  owner: MemoryOwner;
}

/** One line of the log. Replaying the lines in order rebuilds the store. */
export type LogRecord =
  { op: 'put'; memory: Memory } | { op: 'delete'; id: string } | { op: 'history'; row: HistoryRow };

// Big enough that compaction makes few system calls, small enough not to double a large store in memory.
const COMPACTION_CHUNK_CHARS = 1 << 20;

/**
 * The durability of LocalMemoryProvider: an append-only JSON-lines file of operations.
 *
 * A mutation is acknowledged only once its records are on disk (written and fdatasync'd). Concurrent mutations
 * share one write and one sync (group commit), so throughput does not collapse to one fsync per memory.
 * The file is rewritten on open (compaction) so it holds the state, not every operation ever made.
 */
export class MemoryLog {
  private queue: { data: string; resolve: () => void; reject: (error: Error) => void }[] = [];
  private flushing: Promise<void> | null = null;
  /** Set after a failed write: the file may end in a partial record, so appending more would bury it mid-file. */
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /**
   * The records of an existing log, in order; none when the file does not exist. An unparseable last line is
   * a write torn by a crash, never acknowledged, and is dropped. An unparseable line before it is corruption
   * and stops the start: silently skipping it could resurrect deleted memories or lose acknowledged ones.
   */
  static async replay(path: string): Promise<LogRecord[]> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return [];
      throw unavailable(`cannot read ${path}`, error);
    }
    const lines = text.split('\n');
    const records: LogRecord[] = [];
    lines.forEach((line, index) => {
      if (line === '') return;
      const record = decode(line);
      if (record) {
        records.push(record);
      } else if (lines.slice(index + 1).some((rest) => rest !== '')) {
        throw unavailable(`${path} is corrupt at line ${index + 1}`);
      }
    });
    return records;
  }

  /**
   * Atomically replaces the log with `snapshot` (temp file, fsync, rename, fsync of the directory) and opens it
   * for appending. A crash at any point leaves either the old log or the new one, never a mix.
   */
  static async compact(path: string, snapshot: Iterable<LogRecord>): Promise<MemoryLog> {
    const directory = dirname(path);
    const temporary = `${path}.tmp`;
    try {
      await mkdir(directory, { recursive: true });
      const out = await open(temporary, 'w');
      try {
        let chunk = '';
        for (const record of snapshot) {
          chunk += encode(record);
          if (chunk.length >= COMPACTION_CHUNK_CHARS) {
            await out.writeFile(chunk);
            chunk = '';
          }
        }
        await out.writeFile(chunk);
        await out.sync();
      } finally {
        await out.close();
      }
      await rename(temporary, path);
      await syncDirectory(directory);
      return new MemoryLog(path, await open(path, 'a'));
    } catch (error) {
      await rm(temporary, { force: true });
      throw unavailable(`cannot compact ${path}`, error);
    }
  }

  /** Resolves once the records are durable, together with every other append waiting at the time. */
  append(records: readonly LogRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(unavailable('the memory log is closed'));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ data: records.map(encode).join(''), resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.handle.close();
  }

  private async flush(): Promise<void> {
    // Yield once so that every mutation started in the same tick joins the first batch.
    await Promise.resolve();
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (this.failure) throw this.failure;
        await this.handle.writeFile(batch.map((item) => item.data).join(''));
        await this.handle.datasync();
        for (const item of batch) item.resolve();
      } catch (error) {
        this.failure ??= unavailable(`cannot write ${this.path}`, error);
        for (const item of batch) item.reject(this.failure);
      }
    }
    this.flushing = null;
  }
}

function encode(record: LogRecord): string {
  // Dates serialise as ISO strings through Date#toJSON; `decode` revives them.
  return `${JSON.stringify(record)}\n`;
}

function decode(line: string): LogRecord | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  switch (record.op) {
    case 'put':
      return isObject(record.memory) ? { op: 'put', memory: reviveMemory(record.memory) } : null;
    case 'delete':
      return typeof record.id === 'string' ? { op: 'delete', id: record.id } : null;
    case 'history':
      return isObject(record.row) && isObject(record.row.entry) && isObject(record.row.owner)
        ? { op: 'history', row: reviveHistoryRow(record.row as unknown as HistoryRow) }
        : null;
    default:
      return null;
  }
}

function reviveMemory(raw: Record<string, unknown>): Memory {
  const memory = raw as unknown as Memory;
  return {
    ...memory,
    tenantId: asTenantId(memory.tenantId),
    createdAt: new Date(memory.createdAt),
    updatedAt: new Date(memory.updatedAt),
    accessedAt: memory.accessedAt === null ? null : new Date(memory.accessedAt),
    expiresAt: memory.expiresAt === null ? null : new Date(memory.expiresAt),
  };
}

function reviveHistoryRow(row: HistoryRow): HistoryRow {
  return {
    entry: { ...row.entry, at: new Date(row.entry.at) },
    owner: { ...row.owner, tenantId: asTenantId(row.owner.tenantId) },
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Makes the rename itself durable; some platforms cannot open a directory, and there it is best effort. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // Not supported here (e.g. Windows): the rename is still atomic, only its durability is up to the OS.
  } finally {
    await handle?.close();
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

function unavailable(message: string, cause?: unknown): MemoryException {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new MemoryException(MemoryExceptionCode.DEPENDENCY_UNAVAILABLE, `${message}${detail}`);
}
