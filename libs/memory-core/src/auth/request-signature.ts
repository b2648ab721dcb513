import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MemoryException, MemoryExceptionCode } from '../memory.exception.js';
import { InProcessSignatureReplayGuard, type SignatureReplayGuard } from './signature-replay.guard.js';

/**
 * HMAC-SHA256 request signing, shared by the client that signs (`@engram/memory-http`) and the server that checks
 * (the API's AuthGuard and the edition's Authenticator), so that both build the same canonical string from the same rules. No Nest, no HTTP library:
 * plain inputs (method, path with query, headers, body bytes).
 *
 * The canonical string is six lines joined by `\n`:
 *
 *   METHOD                  upper case (`POST`)
 *   path and query          exactly as sent on the request line (`/mem0/v3/memories/?page=2`)
 *   timestamp               X-Timestamp: seconds since the epoch, an integer
 *   nonce                   X-Nonce: 16 to 64 characters of [A-Za-z0-9_-], new for every request
 *   body sha256             lowercase hex of the body's bytes (of the empty string when there is none)
 *   user context            X-User-Context exactly as sent (base64url of the JSON scope)
 *
 * The nonce makes two identical requests within one second (a retry, two reads of the same memory) two signatures,
 * so that refusing a signature seen before refuses replays only.
 *
 * X-Signature is the lowercase hex HMAC-SHA256 of that string under the shared secret. Every input that decides what a
 * request does is in it, so a changed body, path, query or scope breaks the signature; the timestamp bounds how long a
 * captured request stays usable, and a replay guard (signature-replay.guard.ts) refuses it a second time.
 */

export const SIGNATURE_HEADER = 'x-signature';
export const TIMESTAMP_HEADER = 'x-timestamp';
export const NONCE_HEADER = 'x-nonce';
export const USER_CONTEXT_HEADER = 'x-user-context';
/**
 * Which API key's signing secret signed the request, where keys have secrets of their own (the cloud edition). Not in
 * the canonical string: naming another key only makes the signature check against that key's secret, and fail.
 */
export const KEY_ID_HEADER = 'x-key-id';

/** How far a request's timestamp may be from the verifier's clock, either way (clocks drift; requests queue). */
export const DEFAULT_SIGNATURE_WINDOW_MS = 5 * 60 * 1000;

/** On whose behalf a signed request is made: the scope, as mem0 names it. */
export interface SignedUserContext {
  user_id?: string;
  agent_id?: string;
  run_id?: string;
}

export interface CanonicalRequestParts {
  method: string;
  /** The request target as sent: path and query string, no scheme or host. */
  pathAndQuery: string;
  /** Seconds since the epoch. */
  timestamp: number;
  nonce: string;
  bodySha256: string;
  /** The X-User-Context header value. */
  userContext: string;
}

export type RequestBody = Uint8Array | string | null | undefined;

const USER_CONTEXT_KEYS = ['user_id', 'agent_id', 'run_id'] as const;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[A-Za-z0-9_-]{16,64}$/;
const MAX_USER_CONTEXT_LENGTH = 4096;

export function bodySha256(body: RequestBody): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex');
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method.toUpperCase(),
    parts.pathAndQuery,
    String(parts.timestamp),
    parts.nonce,
    parts.bodySha256,
    parts.userContext,
  ].join('\n');
}

export function computeSignature(secret: string, canonical: string): string {
  return createHmac('sha256', secret).update(canonical, 'utf8').digest('hex');
}

/** The scope as the header carries it: base64url of its JSON, keys in a fixed order, absent ones left out. */
export function encodeUserContext(context: SignedUserContext): string {
  const ordered: SignedUserContext = {};
  for (const key of USER_CONTEXT_KEYS) if (context[key] !== undefined) ordered[key] = context[key];
  return Buffer.from(JSON.stringify(ordered), 'utf8').toString('base64url');
}

/** Throws UNAUTHORIZED naming what is wrong: the header is a credential, and a malformed one authenticates nobody. */
export function decodeUserContext(value: string): SignedUserContext {
  const refuse = (why: string) => signatureRefused(`X-User-Context ${why}`, 'malformed');
  if (value.length > MAX_USER_CONTEXT_LENGTH || !/^[A-Za-z0-9_-]*$/.test(value)) {
    throw refuse('must be base64url (at most 4096 characters)');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw refuse('must be the base64url of a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw refuse('must be the base64url of a JSON object');
  }
  const context: SignedUserContext = {};
  for (const [key, item] of Object.entries(parsed)) {
    if (!(USER_CONTEXT_KEYS as readonly string[]).includes(key)) {
      throw refuse(`has the unknown key "${key}" (allowed: ${USER_CONTEXT_KEYS.join(', ')})`);
    }
    if (typeof item !== 'string' || item.length === 0 || item.length > 255) {
      throw refuse(`${key} must be a string of 1 to 255 characters`);
    }
    context[key as (typeof USER_CONTEXT_KEYS)[number]] = item;
  }
  return context;
}

export interface RequestToSign {
  method: string;
  pathAndQuery: string;
  body?: RequestBody;
  userContext: SignedUserContext;
  /** Defaults to now. */
  at?: Date;
  /** Defaults to a random one; a retry must sign again, since the verifier refuses a signature it has seen. */
  nonce?: string;
}

/** The three headers of a signed request. */
export function signRequest(secret: string, request: RequestToSign): Record<string, string> {
  const timestamp = Math.floor((request.at ?? new Date()).getTime() / 1000);
  const userContext = encodeUserContext(request.userContext);
  const nonce = request.nonce ?? randomBytes(16).toString('base64url');
  const signature = computeSignature(
    secret,
    canonicalRequest({
      method: request.method,
      pathAndQuery: request.pathAndQuery,
      timestamp,
      nonce,
      bodySha256: bodySha256(request.body),
      userContext,
    }),
  );
  return {
    [SIGNATURE_HEADER]: signature,
    [TIMESTAMP_HEADER]: String(timestamp),
    [NONCE_HEADER]: nonce,
    [USER_CONTEXT_HEADER]: userContext,
  };
}

export type SignatureRefusal = 'missing' | 'malformed' | 'expired' | 'mismatch' | 'replayed' | 'overloaded';

export function signatureRefused(message: string, reason: SignatureRefusal): MemoryException {
  return new MemoryException(MemoryExceptionCode.UNAUTHORIZED, `signed request refused: ${message}`, { reason });
}

export interface SignedRequest {
  method: string;
  /** The request target as received (`request.url` in Fastify and Node). */
  pathAndQuery: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body's bytes as received, before any parsing. */
  body: RequestBody;
}

export interface VerifiedSignature {
  userContext: SignedUserContext;
  timestamp: number;
}

export interface SignatureWindowOptions {
  windowMs?: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
}

/**
 * A signed request whose headers are well-formed and whose timestamp is within the window, before any secret is
 * known: what it claims, and the canonical string its signature must be the HMAC of. Reading it needs no secret, so
 * that the secret can be chosen from the request itself (its X-Key-Id).
 */
export interface ReadSignedRequest {
  signature: string;
  timestamp: number;
  nonce: string;
  userContext: SignedUserContext;
  /** X-Key-Id, or null when the request names no key. */
  keyId: string | null;
  canonical: string;
  /** When the timestamp leaves the window (ms since the epoch): until then a replay guard must remember it. */
  expiresAt: number;
}

/**
 * Checks the headers' form and the timestamp's freshness. Throws UNAUTHORIZED, with `details.reason` (`missing`,
 * `malformed`, `expired`), naming what is wrong.
 */
export function readSignedRequest(request: SignedRequest, options: SignatureWindowOptions = {}): ReadSignedRequest {
  const windowMs = options.windowMs ?? DEFAULT_SIGNATURE_WINDOW_MS;
  const signature = header(request.headers, SIGNATURE_HEADER);
  const timestampText = header(request.headers, TIMESTAMP_HEADER);
  const nonce = header(request.headers, NONCE_HEADER);
  const userContextText = header(request.headers, USER_CONTEXT_HEADER);
  if (signature === null || timestampText === null || nonce === null || userContextText === null) {
    throw signatureRefused('X-Signature, X-Timestamp, X-Nonce and X-User-Context are all required', 'missing');
  }
  if (!HEX_SIGNATURE.test(signature)) {
    throw signatureRefused('X-Signature must be 64 lowercase hex characters (HMAC-SHA256)', 'malformed');
  }
  if (!TIMESTAMP.test(timestampText)) {
    throw signatureRefused('X-Timestamp must be whole seconds since the epoch', 'malformed');
  }
  if (!NONCE.test(nonce)) throw signatureRefused('X-Nonce must be 16 to 64 characters of A-Z a-z 0-9 _ -', 'malformed');
  const timestamp = Number(timestampText);
  const userContext = decodeUserContext(userContextText);
  if (Math.abs((options.now ?? Date.now)() - timestamp * 1000) > windowMs) {
    throw signatureRefused(
      `X-Timestamp is more than ${Math.round(windowMs / 1000)} s from the server's clock`,
      'expired',
    );
  }
  const canonical = canonicalRequest({
    method: request.method,
    pathAndQuery: request.pathAndQuery,
    timestamp,
    nonce,
    bodySha256: bodySha256(request.body),
    userContext: userContextText,
  });
  return {
    signature,
    timestamp,
    nonce,
    userContext,
    keyId: header(request.headers, KEY_ID_HEADER),
    canonical,
    expiresAt: timestamp * 1000 + windowMs,
  };
}

/** Throws UNAUTHORIZED (`mismatch`) unless the request's signature is the HMAC of its canonical string under `secret`. */
export function assertSignedWith(read: ReadSignedRequest, secret: string): void {
  const expected = Buffer.from(computeSignature(secret, read.canonical), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(read.signature, 'hex'))) {
    throw signatureRefused(
      'the signature does not match the request (method, path and query, timestamp, nonce, body or user context changed, or another secret)',
      'mismatch',
    );
  }
}

/** The refusal of a signature already accepted within its window. */
export function signatureReplayed(): MemoryException {
  return signatureRefused('this signature was already used (a replay)', 'replayed');
}

/**
 * A signed request as the API hands it to the Authenticator: read and time-checked, not verified yet, because the
 * secret it must verify against depends on the edition (the deployment's ENGRAM_SIGNING_SECRET in OSS, the secret of
 * the key named by X-Key-Id in the cloud). `verify` is the only way to a VerifiedSignature, and it also claims the
 * signature's first use, so an authenticator cannot check the HMAC and forget the replay.
 */
export class PresentedSignature {
  constructor(
    private readonly read: ReadSignedRequest,
    private readonly replays: SignatureReplayGuard,
    /** ENGRAM_SIGNING_SECRET, for an edition with one secret per deployment; null when it is unset. */
    readonly configuredSecret: string | null,
  ) {}

  /** X-Key-Id: which key's secret signed the request, where keys have secrets of their own. Not yet verified. */
  get keyId(): string | null {
    return this.read.keyId;
  }

  /**
   * Checks the HMAC under `secret`, then that this is the signature's first use within its window (across every
   * process sharing the replay guard). Throws UNAUTHORIZED (`mismatch`, `replayed`, `overloaded`).
   */
  async verify(secret: string): Promise<VerifiedSignature> {
    assertSignedWith(this.read, secret);
    if (!(await this.replays.firstUse(this.read.signature, this.read.expiresAt))) throw signatureReplayed();
    return { userContext: this.read.userContext, timestamp: this.read.timestamp };
  }
}

/**
 * The API edge's check of signed requests: reads them (form, freshness) and presents them to the Authenticator, which
 * picks the secret; replays are refused by the replay guard, which API processes share when it is in Redis.
 */
export class SignedRequestGate {
  constructor(
    private readonly replays: SignatureReplayGuard,
    private readonly configuredSecret: string | null,
    private readonly options: SignatureWindowOptions = {},
  ) {}

  present(request: SignedRequest): PresentedSignature {
    return new PresentedSignature(readSignedRequest(request, this.options), this.replays, this.configuredSecret);
  }
}

export interface RequestSignatureVerifierOptions extends SignatureWindowOptions {
  maxRemembered?: number;
}

/**
 * Checks signed requests against one secret, synchronously, remembering every signature it accepted in this
 * process (InProcessSignatureReplayGuard's rules: within the window a signature is accepted once, past it the
 * timestamp refuses it; full, it refuses). For a single process that knows its secret up front (a test server); the
 * API uses SignedRequestGate, whose secret is chosen per request and whose replay guard can be shared.
 */
export class RequestSignatureVerifier {
  private readonly seen: InProcessSignatureReplayGuard;

  constructor(
    private readonly secret: string,
    private readonly options: RequestSignatureVerifierOptions = {},
  ) {
    if (secret.length === 0) throw new Error('a signing secret must not be empty');
    this.seen = new InProcessSignatureReplayGuard({ maxRemembered: options.maxRemembered, now: options.now });
  }

  /** How many signatures are remembered now (for tests and metrics). */
  get remembered(): number {
    return this.seen.remembered;
  }

  /** Throws UNAUTHORIZED, with `details.reason`, unless the request is signed with the secret, fresh and first. */
  verify(request: SignedRequest): VerifiedSignature {
    const read = readSignedRequest(request, this.options);
    assertSignedWith(read, this.secret);
    if (!this.seen.firstUseNow(read.signature, read.expiresAt)) throw signatureReplayed();
    return { userContext: read.userContext, timestamp: read.timestamp };
  }
}

function header(headers: SignedRequest['headers'], name: string): string | null {
  const value = headers[name];
  if (Array.isArray(value)) return null;
  return typeof value === 'string' && value.length > 0 ? value : null;
}
