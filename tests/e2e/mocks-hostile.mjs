// A hostile platform: a custom provider (CUSTOM_PROVIDERS) on hosts an attacker runs. Until
// a test arms it, it is a strict OAuth 2.0 server (HTTP Basic, PKCE S256, one-time codes,
// rotating refresh tokens, a userinfo endpoint). Armed for a user, its token or userinfo
// endpoint answers with a gzip bomb: about 1 MB on the wire, declared so in Content-Length,
// that the runtime inflates to 1 GiB as it is read. It can also send a true answer gzipped and
// padded with whitespace to an exact inflated length (to pin the cap to the byte), and hold a
// user's refresh call, before or after spending the refresh token, or a userinfo call, until
// the test lets it go.
// Installed behind Miniflare's outboundService: `answer()` replies for its hosts (null for others).
import crypto from 'node:crypto';
import zlib from 'node:zlib';

/** The provider id, its client credentials and its CUSTOM_PROVIDERS entry. */
export const HOSTILE_ID = 'bomb';
export const HOSTILE_CLIENT = { id: 'bomb-client', secret: 'bomb-secret' };
const AUTH_HOST = 'id.bomb.test';
const API_HOST = 'api.bomb.test';
export const HOSTILE_PROVIDER = {
  name: 'Bomb ID', authorize_url: `https://${AUTH_HOST}/authorize`, token_url: `https://${AUTH_HOST}/token`,
  userinfo_url: `https://${API_HOST}/userinfo`, scopes: ['openid', 'profile', 'offline_access'],
};

/** The worker vars that configure the provider. */
export function hostileVars() {
  return {
    CUSTOM_PROVIDERS: JSON.stringify({ [HOSTILE_ID]: HOSTILE_PROVIDER }),
    BOMB_CLIENT_ID: HOSTILE_CLIENT.id,
    BOMB_CLIENT_SECRET: HOSTILE_CLIENT.secret,
  };
}

/** What the bomb inflates to: a token answer and a userinfo answer in one, padded with spaces. */
export const BOMB_HEAD = '{"access_token":"bombed","token_type":"Bearer","sub":"bombed"';
export const BOMB_INFLATED = 1024 * 1024 * 1024;
const PIECE = 64 * 1024 * 1024;

let bomb;
/**
 * The gzip bomb (built once): `BOMB_HEAD`, 1 GiB of spaces, `}`, about 1 MB compressed. Each
 * part is deflated on its own and ended with a full flush, so the 64 MiB piece of spaces is
 * compressed once and repeated; gzip's trailer (CRC-32 and length) is that of the whole.
 */
export function gzipBomb() {
  if (bomb) return bomb;
  const part = (buf) => zlib.deflateRawSync(buf, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const head = Buffer.from(BOMB_HEAD);
  const tail = Buffer.from('}');
  const spaces = Buffer.alloc(PIECE, 0x20);
  const pieces = BOMB_INFLATED / PIECE;
  let crc = zlib.crc32(head);
  for (let i = 0; i < pieces; i++) crc = zlib.crc32(spaces, crc);
  crc = zlib.crc32(tail, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((head.length + BOMB_INFLATED + tail.length) % 2 ** 32, 4);
  const gzipHeader = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  const piece = part(spaces);
  bomb = Buffer.concat([gzipHeader, part(head), ...Array(pieces).fill(piece), zlib.deflateRawSync(tail), trailer]);
  return bomb;
}

/**
 * `value` as JSON padded with spaces (whitespace JSON allows after a value) to exactly
 * `length` bytes, gzipped: a few KB on the wire whatever `length` is.
 */
export function gzipPadded(value, length) {
  const text = Buffer.from(JSON.stringify(value));
  if (text.length > length) throw new Error(`${text.length} bytes of JSON do not fit in ${length}`);
  const inflated = Buffer.alloc(length, 0x20);
  text.copy(inflated);
  return zlib.gzipSync(inflated, { level: 9 });
}

const CLOSE = { connection: 'close' }; // as platform-mocks.mjs: no pooled socket racing Node's idle close
const json = (status, body) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...CLOSE } });
const oauthError = (status, error, description) => json(status, { error, error_description: description });
const rand = (p) => `${p}${crypto.randomBytes(12).toString('hex')}`;
const s256 = (v) => crypto.createHash('sha256').update(v).digest('base64url');

export class HostileProvider {
  constructor() {
    this.codes = new Map(); // code -> { user, redirectUri, challenge, scope }
    this.tokens = new Map(); // token -> { user, scope, kind: 'access' | 'refresh', live }
    this.calls = []; // { endpoint: 'exchange' | 'refresh' | 'userinfo', user, status }
    this.armed = new Set(); // `${user}:${endpoint}` answered with the bomb
    this.failures = new Map(); // `${user}:${endpoint}` -> Response factory, used once
    this.holds = new Map(); // `${user}:${endpoint}` -> [{ when: 'before' | 'after', released: Promise }]
    this.noExpiry = new Set(); // users whose tokens come without expires_in
    this.shortLived = new Set(); // users whose access tokens live one second
    this.padded = new Map(); // `${user}:${endpoint}` -> inflated length of the next true answer, used once
  }

  /**
   * The next true answer of `endpoint` ('exchange' or 'refresh') for `user` comes gzipped,
   * padded with spaces to exactly `length` inflated bytes (see `gzipPadded`); its
   * Content-Length is the compressed size, as a gzip answer's is.
   */
  padNext(user, endpoint, length) {
    this.padded.set(`${user}:${endpoint}`, length);
  }

  /** Every answer of `endpoint` for `user` is the bomb until `disarm`. */
  arm(user, endpoint) {
    this.armed.add(`${user}:${endpoint}`);
  }

  disarm(user, endpoint) {
    this.armed.delete(`${user}:${endpoint}`);
  }

  /** The next call of `endpoint` for `user` answers `make()` instead. */
  failNext(user, endpoint, make) {
    this.failures.set(`${user}:${endpoint}`, make);
  }

  /**
   * Holds the next call of `endpoint` for `user` (one hold per call, in order). A refresh
   * is held `before` it spends the refresh token, or `after` (the token spent and its
   * successor issued, the answer not sent yet); a userinfo call `before` it is answered.
   * Returns the function that lets it go.
   */
  hold(user, when, endpoint = 'refresh') {
    let release;
    const released = new Promise((r) => { release = r; });
    const key = `${user}:${endpoint}`;
    if (!this.holds.has(key)) this.holds.set(key, []);
    this.holds.get(key).push({ when, released });
    return release;
  }

  /** The calls of `endpoint` made for `user`. */
  callsOf(user, endpoint) {
    return this.calls.filter((c) => c.user === user && c.endpoint === endpoint);
  }

  /** The live refresh token of `user`, if any. */
  liveRefresh(user) {
    return [...this.tokens].find(([, g]) => g.user === user && g.kind === 'refresh' && g.live)?.[0];
  }

  /** Plays `user` approving on the consent screen: checks the authorize URL, returns the code. */
  approve(authorizeUrl, user) {
    const u = new URL(authorizeUrl);
    const q = u.searchParams;
    if (u.host !== AUTH_HOST || u.pathname !== '/authorize') throw new Error(`not the hostile consent screen: ${authorizeUrl}`);
    if (q.get('client_id') !== HOSTILE_CLIENT.id) throw new Error('wrong client id');
    if (q.get('response_type') !== 'code' || !q.get('state') || !q.get('redirect_uri')) throw new Error('bad authorize request');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) throw new Error('PKCE S256 missing');
    const code = rand('bomb_code_');
    this.codes.set(code, { user, redirectUri: q.get('redirect_uri'), challenge: q.get('code_challenge'), scope: q.get('scope') || '' });
    return { code, state: q.get('state') };
  }

  /** The answer for a request to one of the provider's hosts; null for any other host. */
  async answer(request) {
    const url = new URL(request.url);
    if (url.host === AUTH_HOST && url.pathname === '/token' && request.method === 'POST') return this.token(request);
    if (url.host === API_HOST && url.pathname === '/userinfo' && request.method === 'GET') return this.userinfo(request);
    if (url.host === AUTH_HOST || url.host === API_HOST) return json(404, { error: 'not_found' });
    return null;
  }

  /** The bomb, or a prepared failure, when one is set for this call; else null. */
  special(user, endpoint) {
    const call = { endpoint, user };
    this.calls.push(call);
    const fail = this.failures.get(`${user}:${endpoint}`);
    if (fail) {
      this.failures.delete(`${user}:${endpoint}`);
      return fail();
    }
    if (!this.armed.has(`${user}:${endpoint}`)) return null;
    const body = gzipBomb();
    return new Response(body, {
      status: 200,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(body.length), ...CLOSE },
    });
  }

  async token(request) {
    const form = Object.fromEntries(new URLSearchParams(await request.text()));
    const basic = `Basic ${Buffer.from(`${HOSTILE_CLIENT.id}:${HOSTILE_CLIENT.secret}`).toString('base64')}`;
    if (request.headers.get('authorization') !== basic || form.client_secret) return oauthError(401, 'invalid_client', 'HTTP Basic required');
    if (form.grant_type === 'authorization_code') {
      const g = this.codes.get(form.code);
      const special = this.special(g?.user, 'exchange');
      if (special) return special;
      if (!g) return oauthError(400, 'invalid_grant', 'unknown or used code');
      this.codes.delete(form.code);
      if (g.redirectUri !== form.redirect_uri) return oauthError(400, 'invalid_grant', 'redirect_uri mismatch');
      if (!form.code_verifier || s256(form.code_verifier) !== g.challenge) return oauthError(400, 'invalid_grant', 'PKCE verification failed');
      return this.tokenAnswer(g.user, 'exchange', this.issue(g.user, g.scope));
    }
    if (form.grant_type === 'refresh_token') {
      const user = this.tokens.get(form.refresh_token)?.user;
      const special = this.special(user, 'refresh');
      if (special) return special;
      const hold = this.holds.get(`${user}:refresh`)?.shift();
      if (hold?.when === 'before') await hold.released;
      const g = this.tokens.get(form.refresh_token);
      if (!g || g.kind !== 'refresh' || !g.live) return oauthError(400, 'invalid_grant', 'unknown or used refresh token');
      g.live = false; // rotating: the token just used is spent
      const answer = this.issue(g.user, g.scope);
      if (hold?.when === 'after') await hold.released;
      return this.tokenAnswer(g.user, 'refresh', answer);
    }
    return oauthError(400, 'unsupported_grant_type', 'unsupported grant_type');
  }

  /** A token answer: JSON, or gzipped and padded when `padNext` asked for it. */
  tokenAnswer(user, endpoint, body) {
    const length = this.padded.get(`${user}:${endpoint}`);
    if (length === undefined) return json(200, body);
    this.padded.delete(`${user}:${endpoint}`);
    const gz = gzipPadded(body, length);
    return new Response(gz, {
      status: 200,
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': String(gz.length), ...CLOSE },
    });
  }

  async userinfo(request) {
    const m = /^Bearer (.+)$/.exec(request.headers.get('authorization') || '');
    const g = m && this.tokens.get(m[1]);
    const special = this.special(g?.user, 'userinfo');
    if (special) return special;
    const hold = this.holds.get(`${g?.user}:userinfo`)?.shift();
    if (hold) await hold.released;
    if (!g || g.kind !== 'access' || !g.live) return json(401, { error: 'invalid_token' });
    return json(200, { sub: `bomb|${g.user}`, preferred_username: `bomb_${g.user}`, name: `Bomb ${g.user}` });
  }

  /** A new token pair for `user`, as the token endpoint answers it. */
  issue(user, scope) {
    const access = rand('bomb_at_');
    const refresh = rand('bomb_rt_');
    this.tokens.set(access, { user, scope, kind: 'access', live: true });
    this.tokens.set(refresh, { user, scope, kind: 'refresh', live: true });
    const expiry = this.noExpiry.has(user) ? {} : { expires_in: this.shortLived.has(user) ? 1 : 3600 };
    return { access_token: access, token_type: 'Bearer', refresh_token: refresh, scope, ...expiry };
  }
}
