import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiProcess, testDatabaseUrl, type ApiProcess } from '@engram/testing';

/** A real Engram API in its own process (the built app), with the credentials a remote caller needs. */
export interface RemoteEngram {
  server: ApiProcess;
  /** Its mem0 root: what HttpMemoryProvider is given. */
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
    mem0Url: `${server.url}/mem0`,
    apiKey,
    signingSecret,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
