// A local stand-in for Bluesky's services, speaking the XRPC dialect and refusing what the
// real ones refuse: the public AppView (handle resolution, profiles), plc.directory, did:web
// hosts, and PDS hosts (sessions with app passwords, rotating refresh JWTs, revocation, one
// authenticated call). Installed behind Miniflare's outboundService: the worker fetches the
// real hostnames and `answer()` replies for the hosts it owns (null for the others).
//
// Facts mirrored (issue 12 research, checked 2026-11-30 against the atproto lexicons and the
// reference PDS): errors are `{"error": Name, "message": text}`; a wrong identifier or
// password is 401 AuthenticationRequired; the main password of an account with email 2FA is
// 401 AuthFactorTokenRequired; a taken-down account is 401 AccountTakedown (its app
// passwords get the generic 401); a dead refresh JWT (expired, rotated past its grace,
// deleted, or its app password revoked) is 400 ExpiredToken, a bad one 400 InvalidToken; a
// missing Authorization header is 401 AuthenticationRequired. Each PDS signs with its own
// secret, so a token taken to another PDS fails verification (400 InvalidToken), and an
// account that lives elsewhere can't sign in here (401, as an unknown identifier).
//
// Rotation grace: the real PDS keeps a rotated refresh JWT usable for 2 hours (and answers it
// with the same next token, so concurrent refreshes are safe). The mock's grace defaults to
// 0 s so a test sees a reused refresh JWT fail at once; pass `refreshGrace` to model the real one.
import crypto from 'node:crypto';

export const APPVIEW_HOST = 'public.api.bsky.app';
export const PLC_HOST = 'plc.directory';
/** The PDS hosts served unless the constructor names others. */
export const PDS_HOSTS = ['morel.us-east.host.bsky.network', 'pds.selfhost.social'];

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
const xrpcError = (status, error, message) => json(status, { error, message });
const b64url = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A did:plc made from a seed: 24 base32 characters, like the real ones. */
export function plcDid(seed) {
  const bytes = crypto.createHash('sha256').update(seed).digest();
  let id = '';
  for (let i = 0; i < 24; i++) id += BASE32[bytes[i] % 32];
  return `did:plc:${id}`;
}

/** The XRPC methods each service answers: name -> [HTTP method, counter name]. */
const APPVIEW_METHODS = {
  'com.atproto.identity.resolveHandle': 'GET',
  'app.bsky.actor.getProfile': 'GET',
};
const PDS_METHODS = {
  'com.atproto.server.createSession': 'POST',
  'com.atproto.server.refreshSession': 'POST',
  'com.atproto.server.deleteSession': 'POST',
  'com.atproto.server.getSession': 'GET',
};

export class BlueskyMocks {
  /**
   * @param {object} [o]
   * @param {number} [o.accessTtl] access JWT lifetime in seconds (real: 7200)
   * @param {number} [o.refreshTtl] refresh JWT lifetime in seconds (real: 90 days)
   * @param {number} [o.refreshGrace] seconds a rotated refresh JWT keeps working (real: 7200; mock: 0)
   * @param {string[]} [o.pdsHosts] the PDS hosts served
   * @param {string} [o.secret] the signing secret each PDS derives its own from
   */
  constructor({ accessTtl = 7200, refreshTtl = 90 * 86400, refreshGrace = 0, pdsHosts = PDS_HOSTS, secret = 'mock-bluesky-secret' } = {}) {
    Object.assign(this, { accessTtl, refreshTtl, refreshGrace, secret });
    this.pdsHosts = new Set(pdsHosts);
    this.accounts = new Map(); // did -> account
    this.handles = new Map(); // handle -> did
    this.documents = new Map(); // did -> DID document override (setDidDocument)
    this.refreshTokens = new Map(); // jti -> { did, pds, appPassword, exp, rotatedAt, nextJti }
    this.calls = []; // every request seen: { host, path, method, headers, query, body, endpoint }
    this.counts = {}; // endpoint -> number of calls
    this.failures = new Map(); // endpoint -> (call) => Response, used once (failNext)
    this.delays = new Map(); // endpoint -> ms to wait before answering
    this.clockOffset = 0; // seconds added to the real clock (advance)
  }

  /** Now, in epoch seconds, as the mock services see it. */
  now() {
    return Math.floor(Date.now() / 1000) + this.clockOffset;
  }

  /** Moves the services' clock forward (expiries, rotation grace) without waiting. */
  advance(seconds) {
    this.clockOffset += seconds;
  }

  /**
   * An account: `{ handle, did?, pds?, password, appPasswords?: [..], email2fa?, takendown?,
   * displayName?, avatar?, didWeb? }`. Without `did`, a did:plc derived from the handle (served
   * by plc.directory), or with `didWeb: true` `did:web:<handle>` (served by the handle's own
   * host at /.well-known/did.json). Returns the account object: tests may change `takendown`,
   * `displayName`... later.
   */
  addAccount({ handle, did, pds = [...this.pdsHosts][0], password = 'main-password', appPasswords = [], email2fa = false, takendown = false, displayName, avatar, didWeb = false }) {
    handle = handle.toLowerCase();
    did = did ?? (didWeb ? `did:web:${handle}` : plcDid(handle));
    const account = { handle, did, pds, password, appPasswords: [...appPasswords], email2fa, takendown, displayName, avatar, didWeb: did.startsWith('did:web:') };
    this.accounts.set(did, account);
    this.handles.set(handle, did);
    return account;
  }

  /**
   * Revokes the account's app passwords (one, or all when `password` is omitted), as the
   * user would in Bluesky's settings: they no longer sign in, and every refresh JWT issued
   * through them dies (the next refresh answers 400 ExpiredToken). Access JWTs live on
   * until their `exp`, as on the real PDS.
   */
  revokeAppPassword(handle, password) {
    const account = this.accountByHandle(handle);
    if (!account) throw new Error(`no mock Bluesky account ${handle}`);
    const revoked = password === undefined ? account.appPasswords : [password];
    account.appPasswords = account.appPasswords.filter((p) => !revoked.includes(p));
    for (const [jti, t] of this.refreshTokens) {
      if (t.did === account.did && t.appPassword !== null && revoked.includes(t.appPassword)) this.refreshTokens.delete(jti);
    }
  }

  /** Replaces the DID document served for `did` (a hostile one, say); `null` serves none (404). */
  setDidDocument(did, doc) {
    this.documents.set(did, doc);
  }

  /** The DID document served for `did`. */
  didDocument(did) {
    if (this.documents.has(did)) return this.documents.get(did);
    const a = this.accounts.get(did);
    if (!a) return null;
    return {
      '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1'],
      id: did,
      alsoKnownAs: [`at://${a.handle}`],
      verificationMethod: [{ id: `${did}#atproto`, type: 'Multikey', controller: did, publicKeyMultibase: 'zQ3shmockmockmockmockmockmockmockmockmockmockmo' }],
      service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: `https://${a.pds}` }],
    };
  }

  /** How many calls `endpoint` got ('resolveHandle', 'getProfile', 'plc', 'didWeb', 'createSession', 'refreshSession', 'deleteSession', 'getSession'). */
  count(endpoint) {
    return this.counts[endpoint] ?? 0;
  }

  /** The next call to `endpoint` answers `make(call)` instead. */
  failNext(endpoint, make) {
    this.failures.set(endpoint, make);
  }

  /** The live refresh JWT ids of an account (for assertions on rotation and revocation). */
  liveRefreshTokens(handle) {
    const account = this.accountByHandle(handle);
    return [...this.refreshTokens].filter(([, t]) => t.did === account?.did).map(([jti]) => jti);
  }

  accountByHandle(handle) {
    return this.accounts.get(this.handles.get(String(handle).toLowerCase()));
  }

  /** The answer for a request to one of this mock's hosts; `null` for any other host. */
  async answer(request, url = new URL(request.url)) {
    const host = url.hostname;
    const kind = host === APPVIEW_HOST ? 'appview' : host === PLC_HOST ? 'plc' : this.pdsHosts.has(host) ? 'pds' : this.isDidWebHost(host) ? 'didWeb' : null;
    if (!kind || url.protocol !== 'https:') return null;
    const headers = Object.fromEntries(request.headers);
    const text = ['GET', 'HEAD'].includes(request.method) ? '' : await request.text();
    let body = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // Kept as text: the route refuses it.
    }
    const call = { host, path: url.pathname, method: request.method, headers, query: Object.fromEntries(url.searchParams), body, rawBody: text };
    call.endpoint = this.endpointOf(kind, url.pathname);
    this.calls.push(call);
    this.counts[call.endpoint] = (this.counts[call.endpoint] ?? 0) + 1;
    const delay = this.delays.get(call.endpoint);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const fail = this.failures.get(call.endpoint);
    if (fail) {
      this.failures.delete(call.endpoint);
      return fail(call);
    }
    if (kind === 'plc') return this.plc(call);
    if (kind === 'didWeb') return this.didWeb(call);
    return this.xrpc(kind, call);
  }

  isDidWebHost(host) {
    return [...this.accounts.values()].some((a) => a.didWeb && a.did === `did:web:${host}`);
  }

  endpointOf(kind, path) {
    if (kind === 'plc' || kind === 'didWeb') return kind;
    const m = /^\/xrpc\/([A-Za-z0-9.]+)$/.exec(path);
    return m ? m[1].split('.').pop() : `${kind}:other`;
  }

  plc(call) {
    const did = decodeURIComponent(call.path.slice(1));
    if (call.method !== 'GET') return json(405, { message: 'Method Not Allowed' });
    const doc = did.startsWith('did:plc:') ? this.didDocument(did) : null;
    return doc ? json(200, doc) : json(404, { message: `DID not registered: ${did}` });
  }

  didWeb(call) {
    const doc = call.path === '/.well-known/did.json' && call.method === 'GET' ? this.didDocument(`did:web:${call.host}`) : null;
    return doc ? json(200, doc) : new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain' } });
  }

  xrpc(kind, call) {
    const m = /^\/xrpc\/([A-Za-z0-9.]+)$/.exec(call.path);
    if (!m) return new Response('Not Found', { status: 404 });
    const nsid = m[1];
    const methods = kind === 'appview' ? APPVIEW_METHODS : PDS_METHODS;
    const verb = methods[nsid];
    if (!verb) return xrpcError(501, 'MethodNotImplemented', 'Method Not Implemented');
    if (call.method !== verb) return xrpcError(400, 'InvalidRequest', `Incorrect HTTP method (${call.method}) expected ${verb}`);
    switch (nsid) {
      case 'com.atproto.identity.resolveHandle': return this.resolveHandle(call);
      case 'app.bsky.actor.getProfile': return this.getProfile(call);
      case 'com.atproto.server.createSession': return this.createSession(call);
      case 'com.atproto.server.refreshSession': return this.refreshSession(call);
      case 'com.atproto.server.deleteSession': return this.deleteSession(call);
      default: return this.getSession(call);
    }
  }

  resolveHandle(call) {
    const handle = call.query.handle;
    if (!handle) return xrpcError(400, 'InvalidRequest', 'Error: Params must have the property "handle"');
    const did = this.handles.get(handle.toLowerCase());
    return did ? json(200, { did }) : xrpcError(400, 'InvalidRequest', 'Unable to resolve handle');
  }

  getProfile(call) {
    const actor = call.query.actor;
    if (!actor) return xrpcError(400, 'InvalidRequest', 'Error: Params must have the property "actor"');
    const a = actor.startsWith('did:') ? this.accounts.get(actor) : this.accountByHandle(actor);
    if (!a) return xrpcError(400, 'InvalidRequest', 'Profile not found');
    if (a.takendown) return xrpcError(400, 'AccountTakedown', 'Account has been suspended');
    const profile = { did: a.did, handle: a.handle, followersCount: 0, followsCount: 0, postsCount: 0, indexedAt: new Date(0).toISOString() };
    if (a.displayName !== undefined) profile.displayName = a.displayName;
    if (a.avatar !== undefined) profile.avatar = a.avatar;
    return json(200, profile);
  }

  createSession(call) {
    if (!/^application\/json\b/i.test(call.headers['content-type'] ?? '')) {
      return xrpcError(400, 'InvalidRequest', 'Request encoding (Content-Type) required but not provided');
    }
    const input = call.body;
    if (!input || typeof input !== 'object') return xrpcError(400, 'InvalidRequest', 'Input must be an object');
    for (const k of ['identifier', 'password']) {
      if (typeof input[k] !== 'string') return xrpcError(400, 'InvalidRequest', `Input must have the property "${k}"`);
    }
    const id = input.identifier.toLowerCase();
    const a = id.startsWith('did:') ? this.accounts.get(input.identifier) : this.accountByHandle(id);
    const invalid = () => xrpcError(401, 'AuthenticationRequired', 'Invalid identifier or password');
    // An account on another PDS is unknown here: the same answer as a wrong password.
    if (!a || a.pds !== call.host) return invalid();
    let scope;
    let appPassword = null;
    if (input.password === a.password) {
      if (a.takendown) return xrpcError(401, 'AccountTakedown', 'Account has been taken down');
      if (a.email2fa) return xrpcError(401, 'AuthFactorTokenRequired', 'A sign in code has been sent to your email address');
      scope = 'com.atproto.access';
    } else if (a.appPasswords.includes(input.password) && !a.takendown) {
      scope = 'com.atproto.appPass';
      appPassword = input.password;
    } else {
      return invalid();
    }
    const session = this.issue(a, call.host, scope, appPassword);
    return json(200, {
      ...session,
      didDoc: this.didDocument(a.did),
      ...(scope === 'com.atproto.access' ? { email: `${a.handle}@mail.test`, emailConfirmed: true, emailAuthFactor: a.email2fa } : {}),
      active: true,
    });
  }

  refreshSession(call) {
    const auth = this.bearer(call, 'refresh');
    if (auth.error) return auth.error;
    const { payload, account: a } = auth;
    if (a.takendown) return xrpcError(401, 'AccountTakedown', 'Account has been taken down');
    const record = this.refreshTokens.get(payload.jti);
    if (!record) return xrpcError(400, 'ExpiredToken', 'Token has been revoked');
    const now = this.now();
    if (record.nextJti) {
      // Rotated before: inside the grace the same next token comes back, after it is dead.
      if (now - record.rotatedAt > this.refreshGrace) {
        this.refreshTokens.delete(payload.jti);
        return xrpcError(400, 'ExpiredToken', 'Token has been revoked');
      }
      const next = this.refreshTokens.get(record.nextJti);
      if (!next) return xrpcError(400, 'ExpiredToken', 'Token has been revoked');
      return json(200, this.sessionBody(a, call.host, record.scope, record.nextJti, next.exp));
    }
    const nextJti = crypto.randomBytes(16).toString('base64url');
    const exp = now + this.refreshTtl;
    this.refreshTokens.set(nextJti, { did: a.did, pds: call.host, appPassword: record.appPassword, scope: record.scope, exp, rotatedAt: null, nextJti: null });
    if (this.refreshGrace > 0) Object.assign(record, { rotatedAt: now, nextJti });
    else this.refreshTokens.delete(payload.jti);
    return json(200, this.sessionBody(a, call.host, record.scope, nextJti, exp));
  }

  deleteSession(call) {
    // The real PDS accepts an expired refresh JWT here (allowExpired).
    const auth = this.bearer(call, 'refresh', { allowExpired: true });
    if (auth.error) return auth.error;
    this.refreshTokens.delete(auth.payload.jti);
    return new Response(null, { status: 200 });
  }

  getSession(call) {
    const auth = this.bearer(call, 'access');
    if (auth.error) return auth.error;
    const a = auth.account;
    if (a.takendown) return xrpcError(400, 'AccountTakedown', 'Account has been taken down');
    return json(200, { did: a.did, handle: a.handle, active: true });
  }

  /** A new session: an access JWT and a fresh refresh JWT (recorded, so it can be revoked). */
  issue(a, pds, scope, appPassword) {
    const jti = crypto.randomBytes(16).toString('base64url');
    const exp = this.now() + this.refreshTtl;
    this.refreshTokens.set(jti, { did: a.did, pds, appPassword, scope, exp, rotatedAt: null, nextJti: null });
    return this.sessionBody(a, pds, scope, jti, exp);
  }

  sessionBody(a, pds, scope, jti, refreshExp) {
    const iat = this.now();
    const aud = `did:web:${pds}`;
    return {
      accessJwt: this.sign(pds, 'at+jwt', { scope, sub: a.did, aud, iat, exp: iat + this.accessTtl }),
      refreshJwt: this.sign(pds, 'refresh+jwt', { scope: 'com.atproto.refresh', sub: a.did, aud, jti, iat, exp: refreshExp }),
      handle: a.handle,
      did: a.did,
    };
  }

  /** An HS256 JWT signed with `pds`'s own secret. */
  sign(pds, typ, payload) {
    const signingInput = `${b64url({ typ, alg: 'HS256' })}.${b64url(payload)}`;
    const sig = crypto.createHmac('sha256', `${this.secret}:${pds}`).update(signingInput).digest('base64url');
    return `${signingInput}.${sig}`;
  }

  /**
   * Checks the Bearer JWT of `call` as the PDS's auth verifier does: `kind` 'access' or
   * 'refresh'. Returns `{ payload, account }` or `{ error: Response }`.
   */
  bearer(call, kind, { allowExpired = false } = {}) {
    const m = /^Bearer (.+)$/.exec(call.headers.authorization ?? '');
    if (!m) return { error: xrpcError(401, 'AuthenticationRequired', 'Authentication Required') };
    const parts = m[1].split('.');
    const invalid = (message) => ({ error: xrpcError(400, 'InvalidToken', message) });
    if (parts.length !== 3) return invalid('Token could not be verified');
    const expected = crypto.createHmac('sha256', `${this.secret}:${call.host}`).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], 'base64url');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return invalid('Token could not be verified');
    let header;
    let payload;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
      payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    } catch {
      return invalid('Malformed token');
    }
    if (!allowExpired && !(payload.exp > this.now())) return { error: xrpcError(400, 'ExpiredToken', 'Token has expired') };
    const refresh = kind === 'refresh';
    if (refresh !== (payload.scope === 'com.atproto.refresh') || header.typ !== (refresh ? 'refresh+jwt' : 'at+jwt')) return invalid('Bad token scope');
    const account = this.accounts.get(payload.sub);
    // A token whose account is gone or lives on another PDS: not a session this PDS knows.
    if (!account || account.pds !== call.host) return { error: xrpcError(401, 'AuthenticationRequired', 'Invalid identifier or password') };
    return { payload, account };
  }
}
