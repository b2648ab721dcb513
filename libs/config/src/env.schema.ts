import type { EmbedderConfig } from '@engram/embeddings';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every variable of API.md, with its default, parsed and
 * checked once at boot; the rest of the code gets the typed `EngramConfig` and never sees process.env.
 */

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
    .optional()
    .transform((value) => (value === undefined ? fallback : ['true', '1', 'yes'].includes(value)));

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return fallback;
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}` });
        return z.NEVER;
      }
      return parsed;
    });

const url = (protocols: string[]) =>
  optionalString.refine(
    (value) => {
      if (value === undefined) return true;
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${protocols.join(' or ')})` },
  );

const envSchema = z.object({
  PORT: integer(8080, 0, 65535),
  // A separate worker's Prometheus endpoint (GET /metrics, GET /health on HOST); unset: none (0 when no port).
  METRICS_PORT: integer(0, 0, 65535),
  // In-memory copies of large scopes for search (PostgreSQL backend): the memory they may take, and the smallest scope.
  SCOPE_CACHE_MB: integer(256, 0, 1_048_576),
  SCOPE_CACHE_MIN_MEMORIES: integer(2_000, 1, 10_000_000),
  // Whether boot builds the embedder's HNSW index (PostgreSQL backend): it serves scopes above 10,000 memories only.
  VECTOR_INDEX: z.enum(['hnsw', 'none']).default('hnsw'),
  HOST: optionalString.transform((value) => value ?? '127.0.0.1'),
  EDITION: z.enum(['oss', 'cloud']).default('oss'),
  DATABASE_URL: url(['postgres:', 'postgresql:']),
  DATABASE_APP_URL: url(['postgres:', 'postgresql:']),
  DATA_DIR: optionalString.transform((value) => value ?? './data'),
  REDIS_URL: url(['redis:', 'rediss:']),
  EMBEDDINGS_PROVIDER: z.enum(['local', 'hash', 'openai']).default('local'),
  EMBEDDINGS_BASE_URL: url(['http:', 'https:']),
  EMBEDDINGS_MODEL: optionalString,
  EMBEDDINGS_API_KEY: optionalString,
  EMBEDDINGS_DIMENSIONS: integer(0, 0, 16000),
  ENGRAM_API_KEY: optionalString,
  ENGRAM_ADMIN_TOKEN: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http:', 'https:']),
  WORKER: boolean(true),
  MAX_BODY_BYTES: integer(1_048_576, 1024, 64 * 1_048_576),
  LLM_BASE_URL: url(['http:', 'https:']),
  LLM_MODEL: optionalString,
  LLM_API_KEY: optionalString,
  MEMORY_PROVIDER: z.enum(['local', 'postgres', 'http']).default('postgres'),
  MEMORY_HTTP_URL: url(['http:', 'https:']),
  MEMORY_HTTP_API_KEY: optionalString,
  MEMORY_HTTP_SIGNING_SECRET: optionalString,
  MEMORY_HTTP_KEY_ID: optionalString,
  MEMORY_HTTP_TIMEOUT_MS: integer(10_000, 100, 600_000),
  MEMORY_HTTP_RETRIES: integer(3, 0, 10),
  ENGRAM_SIGNING_SECRET: optionalString,
  ENGRAM_SECRETS_KEY: optionalString.refine(
    (value) => value === undefined || /^[0-9a-fA-F]{64}$/.test(value) || Buffer.from(value, 'base64').length === 32,
    { message: 'must be 32 bytes, as 64 hex characters or base64' },
  ),
  MEMORY_SOURCES_FILE: optionalString,
  LOG_FORMAT: z.enum(['json', 'text']).default('json'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** Marks a value that must never be logged or echoed. */
export class Secret {
  constructor(private readonly value: string) {}
  reveal(): string {
    return this.value;
  }
  toString(): string {
    return '[secret]';
  }
  toJSON(): string {
    return '[secret]';
  }
}

export interface EngramConfig {
  port: number;
  host: string;
  edition: 'oss' | 'cloud';
  databaseUrl?: Secret;
  databaseAppUrl?: Secret;
  dataDir: string;
  redisUrl?: Secret;
  embeddings: EmbedderConfig;
  apiKey?: Secret;
  adminToken?: Secret;
  otlpEndpoint?: string;
  /** METRICS_PORT: where a separate worker (`npm run start:worker`) serves /metrics and /health; unset, nowhere. */
  metricsPort?: number;
  /**
   * SCOPE_CACHE_MB / SCOPE_CACHE_MIN_MEMORIES: how much memory each process may give to in-memory copies of large
   * scopes, which unfiltered searches are ranked from (0: none), and from how many memories a scope gets one.
   */
  scopeCache: { maxBytes: number; minMemories: number };
  /** VECTOR_INDEX: 'none' skips building the HNSW index at boot (faster ingest; large scopes scanned exactly). */
  vectorIndex: 'hnsw' | 'none';
  runWorkers: boolean;
  maxBodyBytes: number;
  llm?: { baseUrl: string; model: string; apiKey?: Secret };
  memoryProvider: 'local' | 'postgres' | 'http';
  /** MEMORY_PROVIDER=http: the remote's root: another Engram's (`http://host:8080`, its native API) or a mem0 root (`…/mem0`, or mem0's platform). */
  memoryHttp?: {
    url: string;
    apiKey?: Secret;
    signingSecret?: Secret;
    /** The remote's id of the key the signing secret belongs to (a cloud remote: each key has its own secret). */
    keyId?: string;
    timeoutMs: number;
    retries: number;
  };
  /** OSS: the secret that signed requests (`X-Signature`) are checked with; unset, signed requests are refused. */
  signingSecret?: Secret;
  /**
   * Cloud: the 32-byte key that encrypts each API key's signing secret at rest (the server must read a signing secret
   * back to check an HMAC, so it cannot keep only a hash of it); unset, cloud keys get no signing secrets.
   */
  secretsKey?: Secret;
  /** The typed file that declares the named memory sources (namespaces); unset, none are declared. */
  sourcesFile?: string;
  logFormat: 'json' | 'text';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Bad configuration: the message is one line naming the variable and what is wrong. */
export class ConfigException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigException';
  }
}

export function loadConfig(env: Record<string, string | undefined> = process.env): EngramConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigException(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const secret = (value: string | undefined) => (value === undefined ? undefined : new Secret(value));

  if (e.EDITION === 'oss' && !e.ENGRAM_API_KEY && !LOOPBACK_HOSTS.has(e.HOST)) {
    throw new ConfigException(
      `invalid configuration: HOST=${e.HOST} is reachable from other machines; set ENGRAM_API_KEY or bind HOST to 127.0.0.1`,
    );
  }
  if (e.EDITION === 'cloud' && (!e.DATABASE_URL || !e.ENGRAM_ADMIN_TOKEN)) {
    throw new ConfigException('invalid configuration: EDITION=cloud needs DATABASE_URL and ENGRAM_ADMIN_TOKEN');
  }
  if (!e.WORKER && !e.REDIS_URL) {
    throw new ConfigException(
      'invalid configuration: WORKER=false needs REDIS_URL (without Redis the queue is in-process and only this process can embed)',
    );
  }
  if (
    e.MEMORY_PROVIDER === 'http' &&
    (!e.MEMORY_HTTP_URL || !(e.MEMORY_HTTP_API_KEY || e.MEMORY_HTTP_SIGNING_SECRET))
  ) {
    throw new ConfigException(
      'invalid configuration: MEMORY_PROVIDER=http needs MEMORY_HTTP_URL and MEMORY_HTTP_API_KEY or MEMORY_HTTP_SIGNING_SECRET',
    );
  }
  if (e.LLM_BASE_URL && !e.LLM_MODEL) {
    throw new ConfigException('invalid configuration: LLM_BASE_URL is set but LLM_MODEL is not');
  }

  let embeddings: EmbedderConfig;
  switch (e.EMBEDDINGS_PROVIDER) {
    case 'local':
      embeddings = { provider: 'local' };
      break;
    case 'hash':
      embeddings = { provider: 'hash', dimensions: e.EMBEDDINGS_DIMENSIONS || undefined };
      break;
    case 'openai':
      if (!e.EMBEDDINGS_MODEL) {
        throw new ConfigException('invalid configuration: EMBEDDINGS_PROVIDER=openai needs EMBEDDINGS_MODEL');
      }
      embeddings = {
        provider: 'openai',
        baseUrl: e.EMBEDDINGS_BASE_URL,
        model: e.EMBEDDINGS_MODEL,
        apiKey: e.EMBEDDINGS_API_KEY,
        dimensions: e.EMBEDDINGS_DIMENSIONS || undefined,
      };
      break;
  }

  return {
    port: e.PORT,
    host: e.HOST,
    edition: e.EDITION,
    databaseUrl: secret(e.DATABASE_URL),
    databaseAppUrl: secret(e.DATABASE_APP_URL),
    dataDir: e.DATA_DIR,
    redisUrl: secret(e.REDIS_URL),
    embeddings,
    apiKey: secret(e.ENGRAM_API_KEY),
    adminToken: secret(e.ENGRAM_ADMIN_TOKEN),
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    metricsPort: e.METRICS_PORT || undefined,
    scopeCache: { maxBytes: e.SCOPE_CACHE_MB * 1024 * 1024, minMemories: e.SCOPE_CACHE_MIN_MEMORIES },
    vectorIndex: e.VECTOR_INDEX,
    runWorkers: e.WORKER,
    maxBodyBytes: e.MAX_BODY_BYTES,
    llm:
      e.LLM_BASE_URL && e.LLM_MODEL
        ? { baseUrl: e.LLM_BASE_URL, model: e.LLM_MODEL, apiKey: secret(e.LLM_API_KEY) }
        : undefined,
    memoryProvider: e.MEMORY_PROVIDER,
    memoryHttp: e.MEMORY_HTTP_URL
      ? {
          url: e.MEMORY_HTTP_URL,
          apiKey: secret(e.MEMORY_HTTP_API_KEY),
          signingSecret: secret(e.MEMORY_HTTP_SIGNING_SECRET),
          keyId: e.MEMORY_HTTP_KEY_ID,
          timeoutMs: e.MEMORY_HTTP_TIMEOUT_MS,
          retries: e.MEMORY_HTTP_RETRIES,
        }
      : undefined,
    signingSecret: secret(e.ENGRAM_SIGNING_SECRET),
    secretsKey: secret(e.ENGRAM_SECRETS_KEY),
    sourcesFile: e.MEMORY_SOURCES_FILE,
    logFormat: e.LOG_FORMAT,
    logLevel: e.LOG_LEVEL,
  };
}
