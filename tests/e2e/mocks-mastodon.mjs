// Mastodon instances for the end-to-end tests, each speaking its version's dialect and
// refusing what the real server refuses (Doorkeeper behind Rails). The worker fetches the
// real instance hostnames; `answer(request, url)` serves the instances added here and
// returns null for any other host, so it chains into PlatformMocks (`mocks.api = (r, u) =>
// masto.answer(r, u)`) or in front of it with `chainOutbound(masto, mocks)`.
//
// Facts (checked 2026-11-30): https://docs.joinmastodon.org/methods/apps/#create,
// https://docs.joinmastodon.org/methods/oauth/, https://docs.joinmastodon.org/api/oauth-scopes/,
// https://docs.joinmastodon.org/methods/accounts/#verify_credentials. Two behaviours come from
// Doorkeeper's source rather than the docs, and are what a worker most easily gets wrong:
// - the consent screen checks `scope` against the app's registered scopes by exact name
//   (`Scopes#has_scopes?`): an app registered for `read` is refused `read:statuses`;
// - a `code_verifier` sent without a recorded challenge fails the exchange with
//   `invalid_grant` (`validate_code_verifier`), and so does any verifier on an instance
//   without PKCE (4.2): the worker must send PKCE on both legs or on neither.
import crypto from 'node:crypto';

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
const rand = (bytes = 32) => crypto.randomBytes(bytes).toString('base64url');
const s256 = (v) => crypto.createHash('sha256').update(v).digest('base64url');
const oauthError = (status, error, error_description) => json(status, { error, error_description });

const GRANULAR = [
  'read:accounts', 'read:blocks', 'read:bookmarks', 'read:favourites', 'read:filters', 'read:follows', 'read:lists',
  'read:mutes', 'read:notifications', 'read:search', 'read:statuses',
  'write:accounts', 'write:blocks', 'write:bookmarks', 'write:conversations', 'write:favourites', 'write:filters',
  'write:follows', 'write:lists', 'write:media', 'write:mutes', 'write:notifications', 'write:reports', 'write:statuses',
];
const ADMIN = ['admin:read', 'admin:write', 'admin:read:accounts', 'admin:write:accounts', 'admin:read:reports', 'admin:write:reports'];

/** The scopes an instance of `version` knows (`profile` from 4.3, `crypto` until 4.3). */
export function knownScopes(version) {
  const v43 = atLeast(version, '4.3');
  return ['read', 'write', 'follow', 'push', ...(v43 ? ['profile'] : ['crypto']), 'read:reports', ...GRANULAR, ...ADMIN];
}

/** Whether dotted `version` is at least `min`. */
function atLeast(version, min) {
  const [a, b] = [version, min].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

const INVALID_GRANT = 'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.';
const INVALID_CLIENT = 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.';

export class MastodonMocks {
  constructor() {
    this.instances = new Map(); // host -> instance state
    this.calls = []; // every request to an instance: { host, path, method, headers, query, form, body, endpoint }
    this.authorizations = []; // every consent screen played: { host, clientId, scopes, challenge, challengeSent, user, denied }
    this.failures = new Map(); // "host:endpoint" -> Response factory, used once
    this.delays = new Map(); // "host:endpoint" -> ms to wait before answering
    this.gates = new Map(); // "host:endpoint" -> promise the answer waits for (see `hold`)
  }

  /**
   * Adds an instance. `version`: '4.2' (no discovery, no PKCE, apps vacuumed), '4.3', '4.4'
   * (adds `client_secret_expires_at`). `discovery`: an object served instead of the real
   * metadata document (hostile documents), or a function given the real one.
   */
  addInstance(host, { version = '4.3', discovery } = {}) {
    this.instances.set(host, {
      host, version, discovery, apps: new Map(), codes: new Map(), tokens: new Map(), accounts: new Map(),
      registrations: 0, nextAppId: 1, counts: {},
    });
    return this;
  }

  /** The instance at `host` (throws when none was added). */
  instance(host) {
    const i = this.instances.get(host);
    if (!i) throw new Error(`no mock Mastodon instance ${host}`);
    return i;
  }

  /** How many `POST /api/v1/apps` succeeded on `host`. */
  registrations(host) {
    return this.instance(host).registrations;
  }

  /** The apps `host` knows: [{ id, name, clientId, scopes, redirectUris, website }]. */
  apps(host) {
    return [...this.instance(host).apps.values()].map(({ secret, ...app }) => app);
  }

  /** How many calls `endpoint` ('discovery', 'apps', 'token', 'verify', 'revoke', 'timeline') of `host` answered. */
  count(host, endpoint) {
    return this.instance(host).counts[endpoint] ?? 0;
  }

  /** The next call to `endpoint` of `host` answers `make()`. */
  failNext(host, endpoint, make) {
    this.failures.set(`${host}:${endpoint}`, make);
  }

  /** Holds calls to `endpoint` of `host` until the returned function is called (races). */
  hold(host, endpoint) {
    let release;
    this.gates.set(`${host}:${endpoint}`, new Promise((r) => { release = r; }));
    return () => { this.gates.delete(`${host}:${endpoint}`); release(); };
  }

  /**
   * Forgets the apps of `host` that hold no live token, as instances before 4.3 vacuum them
   * (`{ all: true }`: every app). Returns how many were forgotten.
   */
  vacuum(host, { all = false } = {}) {
    const i = this.instance(host);
    let n = 0;
    for (const [clientId, app] of i.apps) {
      const live = [...i.tokens.values()].some((t) => t.appId === app.id && !t.revoked);
      if (all || !live) {
        i.apps.delete(clientId);
        n++;
      }
    }
    return n;
  }

  /** Revokes every token `user` holds on `host` (the user removing the app in settings). */
  revokeAll(host, user) {
    for (const t of this.instance(host).tokens.values()) if (t.user === user) t.revoked = true;
  }

  /** The live access tokens `user` holds on `host`. */
  tokensOf(host, user) {
    return [...this.instance(host).tokens.entries()].filter(([, t]) => t.user === user && !t.revoked).map(([tok]) => tok);
  }

  /** The account `user` has on `host` (created on first sight; ids restart on every instance). */
  account(host, user) {
    const i = this.instance(host);
    if (!i.accounts.has(user)) {
      const id = String(110000000000000001n + BigInt(i.accounts.size));
      i.accounts.set(user, {
        id, username: user, acct: user, display_name: `${user[0].toUpperCase()}${user.slice(1)} on ${host}`,
        locked: false, bot: false, discoverable: true, group: false, created_at: '2024-01-01T00:00:00.000Z',
        note: '', url: `https://${host}/@${user}`, uri: `https://${host}/users/${user}`,
        avatar: `https://files.${host}/accounts/avatars/${id}.png`, avatar_static: `https://files.${host}/accounts/avatars/${id}.png`,
        header: `https://${host}/headers/original/missing.png`, header_static: `https://${host}/headers/original/missing.png`,
        followers_count: 3, following_count: 5, statuses_count: 8, last_status_at: '2026-11-29', emojis: [], fields: [],
      });
    }
    return i.accounts.get(user);
  }

  /**
   * Plays the user on the instance's consent screen: checks the authorize URL the worker
   * built as the instance does, and returns `{ code, state, redirectUri }` (or, with `deny`,
   * `{ error: 'access_denied', error_description, state, redirectUri }`). Throws what the
   * instance would show instead of redirecting.
   */
  approve(authorizeUrl, { user = 'alice', deny = false } = {}) {
    const u = new URL(authorizeUrl);
    const i = this.instance(u.hostname);
    if (u.protocol !== 'https:' || u.pathname !== '/oauth/authorize') throw new Error(`${u.hostname}: no consent screen at ${u.pathname}`);
    const q = u.searchParams;
    if (q.get('response_type') !== 'code') throw new Error(`${i.host}: unsupported_response_type`);
    const app = i.apps.get(q.get('client_id'));
    if (!app) throw new Error(`${i.host}: invalid_client (${INVALID_CLIENT})`);
    const redirectUri = q.get('redirect_uri');
    if (!app.redirectUris.includes(redirectUri)) throw new Error(`${i.host}: invalid_redirect_uri`);
    if (!q.get('state')) throw new Error(`${i.host}: no state (the worker must always send one)`);
    // Doorkeeper: the default scope when none is asked, then an exact-name subset check.
    const scopes = (q.get('scope') || 'read').split(/[ +]/).filter(Boolean);
    const refused = scopes.filter((s) => !app.scopes.includes(s));
    if (refused.length) throw new Error(`${i.host}: invalid_scope (The requested scope is invalid, unknown, or malformed.) ${refused.join(' ')}`);
    const pkce = atLeast(i.version, '4.3');
    const challengeSent = q.has('code_challenge');
    if (pkce && challengeSent && q.get('code_challenge_method') !== 'S256') throw new Error(`${i.host}: invalid_code_challenge_method`);
    const challenge = pkce && challengeSent ? q.get('code_challenge') : null;
    this.authorizations.push({ host: i.host, clientId: app.clientId, scopes, challenge, challengeSent, user, denied: deny });
    if (deny) {
      return { error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.', state: q.get('state'), redirectUri };
    }
    const code = rand();
    i.codes.set(code, { appId: app.id, user, redirectUri, scopes, challenge });
    return { code, state: q.get('state'), redirectUri };
  }

  /** The instance's answer to `request`, or null when `url`'s host is not a mock instance. */
  async answer(request, url = new URL(request.url)) {
    const i = this.instances.get(url.hostname);
    if (!i) return null;
    const headers = Object.fromEntries(request.headers);
    const text = ['GET', 'HEAD', 'DELETE'].includes(request.method) ? '' : await request.text();
    const isJson = (headers['content-type'] || '').startsWith('application/json');
    let body = null;
    if (isJson) {
      try { body = JSON.parse(text); } catch { return json(400, { error: 'Error while parsing request body' }); }
    }
    const form = isJson ? {} : Object.fromEntries(new URLSearchParams(text));
    const params = isJson && body && typeof body === 'object' ? body : form;
    const call = { host: i.host, path: url.pathname, method: request.method, headers, query: Object.fromEntries(url.searchParams), form, body };
    this.calls.push(call);
    const route = ROUTES.find((r) => r.method === request.method && r.path === url.pathname);
    if (!route) return json(404, { error: 'Record not found' });
    call.endpoint = route.endpoint;
    const key = `${i.host}:${route.endpoint}`;
    const delay = this.delays.get(key);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (this.gates.has(key)) await this.gates.get(key);
    i.counts[route.endpoint] = (i.counts[route.endpoint] ?? 0) + 1;
    const fail = this.failures.get(key);
    if (fail) {
      this.failures.delete(key);
      return fail();
    }
    return route.run(this, i, call, params);
  }

  /** The live token behind `Authorization: Bearer`, or the 401 the instance answers. */
  bearer(i, call) {
    const m = /^Bearer (.+)$/.exec(call.headers.authorization || '');
    const t = m && i.tokens.get(m[1]);
    if (!t) return [null, json(401, { error: 'The access token is invalid' })];
    if (t.revoked) return [null, json(401, { error: 'The access token was revoked' })];
    return [t, null];
  }
}

/** The client a token or revoke request authenticates as (Basic first, then the body). */
function clientOf(i, call, params) {
  let id = params.client_id, secret = params.client_secret;
  const basic = /^Basic (.+)$/.exec(call.headers.authorization || '');
  if (basic) {
    const [a, b = ''] = Buffer.from(basic[1], 'base64').toString().split(/:(.*)/s);
    const dec = (s) => { try { return decodeURIComponent(s); } catch { return s; } };
    [id, secret] = [dec(a), dec(b)];
  }
  const app = i.apps.get(id);
  return app && typeof secret === 'string' && app.secret === secret ? app : null;
}

/** Whether a token's scopes reach an endpoint that takes any of `accepted` (the hierarchy). */
const reaches = (t, accepted) => t.scopes.some((s) => accepted.includes(s));
const outsideScopes = () => json(403, { error: 'This action is outside the authorized scopes' });

const ROUTES = [
  { endpoint: 'discovery', method: 'GET', path: '/.well-known/oauth-authorization-server', run(m, i) {
    if (!atLeast(i.version, '4.3')) return json(404, { error: 'Not Found' });
    const base = `https://${i.host}`;
    const doc = {
      issuer: `${base}/`, service_documentation: 'https://docs.joinmastodon.org/',
      authorization_endpoint: `${base}/oauth/authorize`, token_endpoint: `${base}/oauth/token`,
      app_registration_endpoint: `${base}/api/v1/apps`, revocation_endpoint: `${base}/oauth/revoke`,
      ...(atLeast(i.version, '4.4') ? { userinfo_endpoint: `${base}/oauth/userinfo` } : {}),
      scopes_supported: knownScopes(i.version).filter((s) => s !== 'read:reports'),
      response_types_supported: ['code'], response_modes_supported: ['query', 'fragment', 'form_post'],
      code_challenge_methods_supported: ['S256'], grant_types_supported: ['authorization_code', 'client_credentials'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    };
    const served = typeof i.discovery === 'function' ? i.discovery(doc) : i.discovery ?? doc;
    return typeof served === 'string' ? new Response(served, { status: 200 }) : json(200, served);
  } },

  { endpoint: 'apps', method: 'POST', path: '/api/v1/apps', run(m, i, call, p) {
    const v43 = atLeast(i.version, '4.3');
    if (typeof p.client_name !== 'string' || !p.client_name) return json(422, { error: "Validation failed: Application name can't be blank" });
    // Before 4.3 strong params drop an array, so the field is missing; from 4.3 it is joined.
    let uris = p.redirect_uris;
    if (Array.isArray(uris) && v43 && uris.every((x) => typeof x === 'string')) uris = uris.join('\n');
    if (typeof uris !== 'string' || !uris.trim()) return json(422, { error: "Validation failed: Redirect URI can't be blank" });
    const redirectUris = uris.split('\n').map((x) => x.trim()).filter(Boolean);
    for (const r of redirectUris) {
      if (r === 'urn:ietf:wg:oauth:2.0:oob') continue;
      let parsed;
      try { parsed = new URL(r); } catch { return json(422, { error: 'Validation failed: Redirect URI must be an absolute URI.' }); }
      if (parsed.hash) return json(422, { error: 'Validation failed: Redirect URI cannot contain a fragment.' });
    }
    // A scopes value that is not a string is dropped by strong params: the default applies.
    const scopes = (typeof p.scopes === 'string' && p.scopes.trim() ? p.scopes : 'read').split(/\s+/).filter(Boolean);
    const known = knownScopes(i.version);
    if (scopes.some((s) => !known.includes(s))) return json(422, { error: "Validation failed: Scopes doesn't match configured on the server." });
    const app = {
      id: String(i.nextAppId++), name: p.client_name, website: typeof p.website === 'string' ? p.website : null,
      clientId: rand(), secret: rand(), scopes, redirectUris,
    };
    i.apps.set(app.clientId, app);
    i.registrations++;
    const out = { id: app.id, name: app.name, website: app.website, redirect_uri: redirectUris.join('\n'), client_id: app.clientId, client_secret: app.secret };
    if (v43) Object.assign(out, { scopes, redirect_uris: redirectUris });
    else out.vapid_key = 'BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=';
    if (atLeast(i.version, '4.4')) out.client_secret_expires_at = 0;
    return json(200, out);
  } },

  { endpoint: 'token', method: 'POST', path: '/oauth/token', run(m, i, call, p) {
    const app = clientOf(i, call, p);
    if (!app) return oauthError(401, 'invalid_client', INVALID_CLIENT);
    if (p.grant_type === 'client_credentials') {
      const token = rand();
      i.tokens.set(token, { appId: app.id, user: null, scopes: (p.scope || 'read').split(/[ +]/).filter(Boolean), revoked: false, createdAt: Math.floor(Date.now() / 1000) });
      return json(200, { access_token: token, token_type: 'Bearer', scope: p.scope || 'read', created_at: i.tokens.get(token).createdAt });
    }
    if (p.grant_type !== 'authorization_code') return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    if (!p.code) return oauthError(400, 'invalid_request', 'Missing required parameter: code.');
    const g = i.codes.get(p.code);
    if (!g || g.appId !== app.id) return oauthError(400, 'invalid_grant', INVALID_GRANT);
    i.codes.delete(p.code); // spent, whatever follows
    if (g.redirectUri !== p.redirect_uri) return oauthError(400, 'invalid_grant', INVALID_GRANT);
    // Doorkeeper's validate_code_verifier: a verifier needs a recorded challenge, and an
    // instance without PKCE (4.2) records none.
    if (g.challenge || p.code_verifier !== undefined) {
      if (!g.challenge || typeof p.code_verifier !== 'string' || s256(p.code_verifier) !== g.challenge) {
        return oauthError(400, 'invalid_grant', INVALID_GRANT);
      }
    }
    // reuse_access_token: the same user, app and scopes get their live token back.
    const same = [...i.tokens.entries()].find(([, t]) => t.appId === app.id && t.user === g.user && !t.revoked
      && t.scopes.length === g.scopes.length && t.scopes.every((s) => g.scopes.includes(s)));
    const token = same ? same[0] : rand();
    if (!same) i.tokens.set(token, { appId: app.id, user: g.user, scopes: g.scopes, revoked: false, createdAt: Math.floor(Date.now() / 1000) });
    return json(200, { access_token: token, token_type: 'Bearer', scope: g.scopes.join(' '), created_at: i.tokens.get(token).createdAt });
  } },

  { endpoint: 'revoke', method: 'POST', path: '/oauth/revoke', run(m, i, call, p) {
    const denied = () => oauthError(403, 'unauthorized_client', 'You are not authorized to revoke this token');
    const app = clientOf(i, call, p);
    if (!app || !p.token) return denied();
    const t = i.tokens.get(p.token);
    if (!t) return json(200, {}); // RFC 7009: an unknown token is not an error
    if (t.appId !== app.id) return denied();
    t.revoked = true;
    return json(200, {});
  } },

  { endpoint: 'verify', method: 'GET', path: '/api/v1/accounts/verify_credentials', run(m, i, call) {
    const [t, refused] = m.bearer(i, call);
    if (!t) return refused;
    if (!reaches(t, ['read', 'read:accounts', 'profile'])) return outsideScopes();
    if (!t.user) return json(422, { error: 'This method requires an authenticated user' });
    const a = m.account(i.host, t.user);
    return json(200, { ...a, source: { privacy: 'public', sensitive: false, language: 'en', note: '', fields: [], follow_requests_count: 0 }, role: { id: '-99', name: '', permissions: '0', color: '', highlighted: false } });
  } },

  { endpoint: 'timeline', method: 'GET', path: '/api/v1/timelines/home', run(m, i, call) {
    const [t, refused] = m.bearer(i, call);
    if (!t) return refused;
    if (!reaches(t, ['read', 'read:statuses'])) return outsideScopes();
    if (!t.user) return json(422, { error: 'This method requires an authenticated user' });
    return json(200, [], { 'x-ratelimit-limit': '300', 'x-ratelimit-remaining': '299', 'x-ratelimit-reset': new Date(Date.now() + 300_000).toISOString() });
  } },
];
