// The TypeScript peer of connect-links' `POST /v1/connect-links`, for one platform (`x`: X's
// OAuth 2.0 with PKCE), doing the same work in the same order so `make bench`
// (bench/create-link.mjs) can compare the two under one runtime:
//
//   1. `Authorization: Bearer ck_...`: the key's SHA-256 (hex) looked up in D1 (api_keys
//      joined to apps, a revoked key is no key), else 401;
//   2. the body read under a 64 KiB cap, parsed as JSON and checked (the fields the Rust
//      `CreateLink` takes, unknown ones refused, the same size limits), the platform known and
//      its client id and secret set (else 422), `redirect_url` on the app's allowlist (else
//      422);
//   3. link id, state and PKCE (oauth4webapi), the authorization URL with the platform's
//      default scopes;
//   4. the authorization URL sealed (AES-256-GCM, `TOKEN_KEYS`' first key, associated data
//      `<link id>:authorize_url`), the link row inserted in D1;
//   5. the pending authorization (verifier sealed under `<state hash>:pkce_verifier`) put
//      in KV under the state's SHA-256 with a 600 s TTL;
//   6. 201 `{id, url, authorize_url, platform, expires_at}`, with the same hardening headers.
//
// It also answers `ANY /v1/profiles/{id}/proxy/{path}` (bench/proxy.mjs) with the least a user
// would write: the API key looked up as above, the profile's row with its grant's sealed
// access token (one D1 read), the token opened with WebCrypto (AES-256-GCM, associated data
// `<grant id>:access_token`, any key of `TOKEN_KEYS`), the call to X's API with it, and the
// answer streamed back. No limits, no retries, no counters, no refresh.
//
// Bundled by bench/create-link.mjs with the esbuild wrangler ships; not deployed.
import { calculatePKCECodeChallenge, generateRandomCodeVerifier, generateRandomState } from 'oauth4webapi';

// The few binding types used here (no @cloudflare/workers-types in this repository).
interface D1Result<T> {
  results: T[];
}
interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  first<T>(): Promise<T | null>;
  run(): Promise<D1Result<unknown>>;
}
interface D1Database {
  prepare(sql: string): D1Statement;
}
interface KVNamespace {
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}
interface Env {
  DB: D1Database;
  OAUTH_STATE: KVNamespace;
  PUBLIC_URL: string;
  TOKEN_KEYS: string;
  X_CLIENT_ID?: string;
  X_CLIENT_SECRET?: string;
}

interface AppRow {
  id: string;
  name: string;
  allowed_redirect_urls: string;
  webhook_url: string | null;
  claim: string;
  created_at: number;
}

/** The one platform this peer knows (core/src/platforms/x.rs). */
const X = {
  id: 'x',
  authorizeUrl: 'https://x.com/i/oauth2/authorize',
  defaultScopes: ['tweet.read', 'tweet.write', 'users.read', 'offline.access'],
};
const STATE_TTL_SECS = 600;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_APP_STATE_CHARS = 512;
const MAX_METADATA_BYTES = 4 * 1024;
const FIELDS = new Set([
  'platform', 'redirect_url', 'scopes', 'external_user_id', 'state', 'metadata', 'profile_id', 'callback', 'accounts', 'instance',
]);
// The query names the worker appends on the final redirect (core/src/redirect.rs).
const APPENDED = ['connected', 'profile_id', 'profile_ids', 'platform', 'link_id', 'state', 'error', 'connect_token'];

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
const invalid = (message: string) => new ApiError(400, 'invalid_request', message);
const unauthorized = () => new ApiError(401, 'unauthorized', 'missing or invalid credentials');

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i].toString(16).padStart(2, '0');
  return s;
}

function b64url(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64urlDecode(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

/** `TOKEN_KEYS`' first key (`kid:base64`), imported once per isolate. */
let sealing: Promise<{ kid: string; key: CryptoKey }> | undefined;
function sealingKey(env: Env) {
  sealing ??= (async () => {
    const first = env.TOKEN_KEYS.split(',').map((e) => e.trim()).find(Boolean);
    const at = first?.indexOf(':') ?? -1;
    if (!first || at < 1) throw new Error('TOKEN_KEYS');
    const raw = Uint8Array.from(atob(first.slice(at + 1).trim()), (c) => c.charCodeAt(0));
    if (raw.length !== 32) throw new Error('TOKEN_KEYS');
    const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    return { kid: first.slice(0, at), key };
  })();
  return sealing;
}

/** The envelope connect-links writes (core/src/envelope.rs): `v1.<kid>.<b64url(nonce | ct | tag)>`. */
async function seal(env: Env, rowId: string, field: string, plaintext: string): Promise<string> {
  const { kid, key } = await sealingKey(env);
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: encoder.encode(`${rowId}:${field}`) },
    key,
    encoder.encode(plaintext),
  ));
  const blob = new Uint8Array(12 + ct.length);
  blob.set(nonce);
  blob.set(ct, 12);
  return `v1.${kid}.${b64url(blob)}`;
}

/** RFC 3339 in whole seconds, as the Rust worker writes it. */
const rfc3339 = (secs: number) => new Date(secs * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function isLoopback(u: URL) {
  return u.hostname === 'localhost' || u.hostname === '127.0.0.1';
}

/** A redirect URL's shape (core/src/redirect.rs `check_shape`). */
function wellShaped(u: URL): boolean {
  if (!(u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u)))) return false;
  return u.hostname !== '' && u.username === '' && u.password === '' && u.hash === '';
}

function parseUrl(raw: string): URL | null {
  try {
    return new URL(raw);
  } catch {
    return null;
  }
}

const defaultPort = (u: URL) => u.port || (u.protocol === 'https:' ? '443' : '80');

function pathUnder(path: string, prefix: string): boolean {
  return path === prefix || (prefix.endsWith('/') && path.startsWith(prefix)) || (path.startsWith(prefix) && path[prefix.length] === '/');
}

/** Same scheme, host and port as an allowlist entry, and a path under its path. */
function isAllowed(redirect: string, allowlist: string[]): boolean {
  const target = parseUrl(redirect);
  if (!target || !wellShaped(target)) return false;
  return allowlist.some((raw) => {
    const entry = parseUrl(raw);
    return !!entry && entry.protocol === target.protocol && entry.hostname === target.hostname
      && defaultPort(entry) === defaultPort(target) && pathUnder(target.pathname, entry.pathname);
  });
}

interface CreateLink {
  platform: string;
  redirect_url: string;
  scopes?: string[];
  external_user_id?: string;
  state?: string;
  metadata?: Record<string, unknown>;
  profile_id?: string;
  callback?: 'hosted' | 'app';
  accounts?: 'pick' | 'all';
  instance?: string;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const optional = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || v === null || ok(v);

/** The body's shape and limits (core/src/input.rs `CreateLink` and its `check`). */
function parseCreateLink(text: string): CreateLink {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw invalid('the body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('the body must be a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw invalid(`unknown field ${k}`);
  if (!isString(o.platform) || !isString(o.redirect_url)) throw invalid('platform and redirect_url are required strings');
  const shapes = optional(o.scopes, (s) => Array.isArray(s) && s.every(isString))
    && optional(o.external_user_id, isString) && optional(o.state, isString) && optional(o.profile_id, isString)
    && optional(o.instance, isString)
    && optional(o.metadata, (m) => typeof m === 'object' && !Array.isArray(m))
    && optional(o.callback, (c) => c === 'hosted' || c === 'app')
    && optional(o.accounts, (a) => a === 'pick' || a === 'all');
  if (!shapes) throw invalid('a field has the wrong type');
  const input = o as unknown as CreateLink;
  const redirect = parseUrl(input.redirect_url);
  const appended = redirect && APPENDED.find((n) => redirect.searchParams.has(n));
  if (appended) throw invalid(`redirect_url may not carry the query parameter '${appended}': the worker appends it`);
  if (input.state != null && [...input.state].length > MAX_APP_STATE_CHARS) throw invalid('state must be at most 512 characters');
  if (input.metadata != null && encoder.encode(JSON.stringify(input.metadata)).length > MAX_METADATA_BYTES) {
    throw invalid('metadata must be at most 4 KiB of JSON');
  }
  const x = input.external_user_id;
  if (x != null && (x.length === 0 || [...x].length > 256)) throw invalid('external_user_id must be 1 to 256 characters');
  if (input.scopes != null) {
    const ok = input.scopes.length <= 50 && input.scopes.every((s) => s.length > 0 && s.length <= 200 && !/[ ,]/.test(s));
    if (!ok) throw invalid('scopes must be up to 50 non-empty scope names without spaces or commas');
  }
  return input;
}

/** The body under the cap (a declared length over it is refused before reading). */
async function readBody(req: Request): Promise<string> {
  const declared = Number(req.headers.get('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, 'payload_too_large', 'the body is larger than 64 KiB');
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.length > MAX_BODY_BYTES) throw new ApiError(413, 'payload_too_large', 'the body is larger than 64 KiB');
  return new TextDecoder().decode(bytes);
}

async function requireApp(req: Request, env: Env): Promise<AppRow> {
  const h = req.headers.get('authorization')?.trim() ?? '';
  const space = h.indexOf(' ');
  const key = space > 0 && h.slice(0, space).toLowerCase() === 'bearer' ? h.slice(space + 1).trim() : '';
  if (!key.startsWith('ck_')) throw unauthorized();
  const app = await env.DB.prepare(
    'SELECT a.id, a.name, a.allowed_redirect_urls, a.webhook_url, a.claim, a.created_at '
      + 'FROM api_keys k JOIN apps a ON a.id = k.app_id WHERE k.key_hash = ?1 AND k.revoked_at IS NULL',
  ).bind(await sha256Hex(key)).first<AppRow>();
  if (!app) throw unauthorized();
  return app;
}

async function createLink(req: Request, env: Env): Promise<Response> {
  const app = await requireApp(req, env);
  const input = parseCreateLink(await readBody(req));
  if (input.platform !== X.id) throw invalid('unknown platform');
  if (input.instance != null) throw invalid('instance is only taken by platforms with instances (mastodon)');
  if (input.profile_id != null) throw invalid('this peer makes no reconnect links');
  if (!env.X_CLIENT_ID || !env.X_CLIENT_SECRET) {
    throw new ApiError(422, 'platform_not_configured', 'x client id and secret are not set');
  }
  let allowlist: string[] = [];
  try {
    allowlist = JSON.parse(app.allowed_redirect_urls);
  } catch {}
  if (!isAllowed(input.redirect_url, allowlist)) {
    throw new ApiError(422, 'redirect_not_allowed', "redirect_url is not in the app's allowed_redirect_urls");
  }
  const publicUrl = env.PUBLIC_URL.replace(/\/+$/, '');
  const callback = input.callback ?? 'hosted';
  const redirectUri = callback === 'hosted' ? `${publicUrl}/oauth/callback` : input.redirect_url;
  const scopes = input.scopes ?? X.defaultScopes;

  const id = `cl_${hex(crypto.getRandomValues(new Uint8Array(16)))}`;
  const state = generateRandomState();
  const verifier = generateRandomCodeVerifier();
  const challenge = await calculatePKCECodeChallenge(verifier);
  const authorize = new URL(X.authorizeUrl);
  const q = authorize.searchParams;
  q.append('response_type', 'code');
  q.append('client_id', env.X_CLIENT_ID);
  q.append('redirect_uri', redirectUri);
  if (scopes.length) q.append('scope', scopes.join(' '));
  q.append('state', state);
  q.append('code_challenge', challenge);
  q.append('code_challenge_method', 'S256');
  const authorizeUrl = authorize.toString();

  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + STATE_TTL_SECS;
  await env.DB.prepare(
    'INSERT INTO connect_links (id, app_id, platform, redirect_url, authorize_url, scopes, external_user_id, '
      + 'app_state, metadata, reconnect_profile_id, callback, status, created_at, expires_at, accounts, instance) '
      + "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'pending', ?12, ?13, ?14, ?15)",
  ).bind(
    id, app.id, X.id, input.redirect_url, await seal(env, id, 'authorize_url', authorizeUrl), JSON.stringify(scopes),
    input.external_user_id ?? null, input.state ?? null, input.metadata == null ? null : JSON.stringify(input.metadata),
    null, callback, now, expiresAt, input.accounts ?? 'pick', null,
  ).run();

  const stateKey = await sha256Hex(state);
  const pending = {
    link_id: id,
    app_id: app.id,
    platform: X.id,
    verifier: await seal(env, stateKey, 'pkce_verifier', verifier),
    redirect_uri: redirectUri,
    callback,
    created_at: now,
  };
  await env.OAUTH_STATE.put(stateKey, JSON.stringify(pending), { expirationTtl: STATE_TTL_SECS });

  return json(201, {
    id,
    url: `${publicUrl}/connect/${id}`,
    authorize_url: authorizeUrl,
    platform: X.id,
    expires_at: rfc3339(expiresAt),
  });
}

/** X's API base (core/src/platforms/x.rs), where the proxy peer sends its calls. */
const X_API = 'https://api.x.com';

/** Every key of `TOKEN_KEYS` by kid, imported once per isolate for opening. */
let opening: Promise<Map<string, CryptoKey>> | undefined;
function openingKeys(env: Env) {
  opening ??= (async () => {
    const keys = new Map<string, CryptoKey>();
    for (const entry of env.TOKEN_KEYS.split(',').map((e) => e.trim()).filter(Boolean)) {
      const at = entry.indexOf(':');
      const raw = Uint8Array.from(atob(entry.slice(at + 1)), (c) => c.charCodeAt(0));
      keys.set(entry.slice(0, at), await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['decrypt']));
    }
    return keys;
  })();
  return opening;
}

/** Opens an envelope `v1.<kid>.<base64url(nonce | ciphertext | tag)>` sealed under `<rowId>:<field>`. */
async function open(env: Env, envelope: string, rowId: string, field: string): Promise<string> {
  const [v, kid, data] = envelope.split('.');
  const key = v === 'v1' && kid && data ? (await openingKeys(env)).get(kid) : undefined;
  if (!key || !data) throw new Error('envelope');
  const blob = b64urlDecode(data);
  const plain = await crypto.subtle.decrypt(
    { name: 'AES-GCM', iv: blob.subarray(0, 12), additionalData: encoder.encode(`${rowId}:${field}`) },
    key,
    blob.subarray(12),
  );
  return new TextDecoder().decode(plain);
}

/** `ANY /v1/profiles/{id}/proxy/{rest}`: the platform's answer, called with the profile's token. */
async function proxy(req: Request, env: Env, profileId: string, rest: string): Promise<Response> {
  const app = await requireApp(req, env);
  if (rest.startsWith('/') || rest.split('/').some((s) => s === '..' || s === '.')) throw invalid('bad path');
  const row = await env.DB.prepare(
    'SELECT p.status, g.id AS grant_id, g.access_token_enc FROM profiles p JOIN grants g ON g.id = p.grant_id '
      + 'WHERE p.id = ?1 AND p.app_id = ?2',
  ).bind(profileId, app.id).first<{ status: string; grant_id: string; access_token_enc: string }>();
  if (!row) throw new ApiError(404, 'not_found', 'profile not found');
  if (row.status !== 'active') throw new ApiError(409, 'conflict', 'the profile is not active');
  const token = await open(env, row.access_token_enc, row.grant_id, 'access_token');
  const headers = new Headers(req.headers);
  headers.delete('host');
  headers.set('authorization', `Bearer ${token}`);
  const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : req.body;
  const upstream = await fetch(`${X_API}/${rest}${new URL(req.url).search}`, { method: req.method, headers, body });
  return new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    },
  });
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const path = new URL(req.url).pathname;
    try {
      const proxied = /^\/v1\/profiles\/([^/]+)\/proxy\/(.+)$/.exec(path);
      if (proxied) return await proxy(req, env, proxied[1], proxied[2]);
      if (path !== '/v1/connect-links') throw new ApiError(404, 'not_found', 'route not found');
      if (req.method !== 'POST') throw new ApiError(405, 'method_not_allowed', 'method not allowed on this path');
      return await createLink(req, env);
    } catch (e) {
      if (e instanceof ApiError) return json(e.status, { error: { code: e.code, message: e.message } });
      console.error(JSON.stringify({ level: 'error', what: 'create link', error: String(e) }));
      return json(500, { error: { code: 'internal', message: 'internal error' } });
    }
  },
};
