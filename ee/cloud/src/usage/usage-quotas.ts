/* @license Enterprise */
import type { TenantQuotas } from '../tenants/tenant.js';

/** What `tenants.quotas` may hold: the quotas the admin routes set. */
export type StoredQuotas = TenantQuotas;

/** The limits in force for a tenant; null is no limit. */
export interface EffectiveQuotas {
  /** Memories stored at once (expired ones do not count). */
  maxMemories: number | null;
  /** API requests per calendar month (UTC), every tenant route counting. */
  maxRequestsPerMonth: number | null;
  /** Estimated tokens sent to the embedder per calendar month: memory content written, and search queries. */
  maxEmbeddingTokensPerMonth: number | null;
  /** Per API key: a token bucket of this size, refilled evenly over a minute. */
  requestsPerMinute: number | null;
}

/**
 * The platform's defaults for a quota a tenant was not given: no caps on volume (a plan sets those), but every key is
 * rate-limited, so that one runaway client cannot take the service from the others.
 */
export const PLATFORM_DEFAULT_QUOTAS: EffectiveQuotas = {
  maxMemories: null,
  maxRequestsPerMonth: null,
  maxEmbeddingTokensPerMonth: null,
  requestsPerMinute: 1000,
};

/** The quota names the API speaks (413 details, `GET /v1/usage`). */
export const QUOTA_NAMES = {
  maxMemories: 'max_memories',
  maxRequestsPerMonth: 'max_requests_per_month',
  maxEmbeddingTokensPerMonth: 'max_embedding_tokens_per_month',
  requestsPerMinute: 'requests_per_minute',
} as const satisfies Record<keyof EffectiveQuotas, string>;

/** The stored quotas over the defaults; a stored value that is not a whole number ≥ 0 is ignored. */
export function effectiveQuotas(
  stored: StoredQuotas | null | undefined,
  defaults: EffectiveQuotas = PLATFORM_DEFAULT_QUOTAS,
): EffectiveQuotas {
  const pick = (name: keyof EffectiveQuotas): number | null => {
    const value: unknown = stored?.[name];
    return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : defaults[name];
  };
  return {
    maxMemories: pick('maxMemories'),
    maxRequestsPerMonth: pick('maxRequestsPerMonth'),
    maxEmbeddingTokensPerMonth: pick('maxEmbeddingTokensPerMonth'),
    requestsPerMinute: pick('requestsPerMinute'),
  };
}

/**
 * Tokens a text costs the embedder, estimated as a quarter of its characters (the usual figure for English under
 * the tokenizers of the common embedding APIs): the local embedders have no tokenizer to ask, and the estimate has to
 * be known before the text is embedded, which is when the quota is checked.
 */
export function estimateEmbeddingTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
