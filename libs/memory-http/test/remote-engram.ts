import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiProcess, testDatabaseUrl, type ApiProcess } from '@engram/testing';

/** A real Engram API in its own process (the built app), with the credentials a remote caller needs. */
export interface RemoteEngram {
  server: ApiProcess;
  /** Its root: what the native dialect (EngramHttpMemoryProvider) is given. */
  url: string;
  /** Its mem0 root: what the mem0 dialect (Mem0HttpMemoryProvider) is given. */
  mem0Url: string;
  apiKey: string;
  /** Unset: the server accepts no signed requests. */
  signingSecret?: string;
  stop(): Promise<void>;
}

export type RemoteBackend = 'postgres' | 'local';

/**
 * Starts an OSS Engram with its own key (and signing secret, unless `signing` is false) on the hash embedder.
 * `postgres` stores in this run's test database (libs/testing); `local` in a data directory of its own, so that two
 * remotes are two tenants that share nothing.
 */
export async function startRemoteEngram(backend: RemoteBackend, signing = true): Promise<RemoteEngram> {
  const dataDir = await mkdtemp(join(tmpdir(), 'engram-remote-'));
  const apiKey = `key-${randomBytes(12).toString('hex')}`;
  const signingSecret = signing ? `secret-${randomBytes(24).toString('hex')}` : undefined;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    EMBEDDINGS_PROVIDER: 'hash',
    LOG_LEVEL: 'silent',
    ENGRAM_API_KEY: apiKey,
    MEMORY_PROVIDER: backend,
    ...(signingSecret ? { ENGRAM_SIGNING_SECRET: signingSecret } : {}),
    ...(backend === 'postgres' ? { DATABASE_URL: testDatabaseUrl() } : {}),
  };
  const server = await startApiProcess(env);
  return {
    server,
    url: server.url,
    mem0Url: `${server.url}/mem0`,
    apiKey,
    signingSecret,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts several remotes at once; if one fails to start, stops those that did before failing, so that no server
 * process outlives the test file (Promise.all would drop them).
 */
export async function startRemoteEngrams(
  ...remotes: readonly (readonly [RemoteBackend, boolean?])[]
): Promise<RemoteEngram[]> {
  const started = await Promise.allSettled(remotes.map(([backend, signing]) => startRemoteEngram(backend, signing)));
  const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (!failed) return started.map((outcome) => (outcome as PromiseFulfilledResult<RemoteEngram>).value);
  await Promise.all(started.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.stop() : undefined)));
  throw failed.reason;
}
