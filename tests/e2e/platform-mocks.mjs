// Local stand-ins for the platforms, each speaking its own dialect and refusing what the
// real one refuses. Installed as Miniflare's outboundService: the worker fetches the real
// hostnames (api.x.com, graph.facebook.com...) and these answer. Loopback requests (the
// sandbox, which is the worker itself) go through untouched.
import crypto from 'node:crypto';
import { ownConnection } from './harness.mjs';

const json = (status, body, headers = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const rand = (p) => `${p}${crypto.randomBytes(12).toString('hex')}`;
const s256 = (v) => crypto.createHash('sha256').update(v).digest('base64url');
const basicOf = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * `res` as a new Response that closes its connection: workerd would otherwise reuse a
 * pooled connection that Node's server closes after 5 s idle, and a call racing that close
 * fails with "Network connection lost" (a flake of the test rig, not of a platform).
 */
export function closing(res) {
  const closed = new Response(res.body, res);
  closed.headers.set('connection', 'close');
  return closed;
}

/**
 * An outboundService that asks `mock.answer(request, url)` first (a mock of servers of
 * their own: Mastodon instances, Bluesky's services) and leaves every other host to
 * `mocks` (PlatformMocks), each answer closing its connection as `PlatformMocks.handle` does.
 */
export function chainOutbound(mock, mocks) {
  return async (request) => {
    const mine = await mock.answer(request, new URL(request.url));
    if (!mine) return mocks.handle(request);
    return closing(mine);
  };
}

/** Client credentials the tests configure for a platform. */
export const credsFor = (id) => ({ id: `${id}-client`, secret: `${id}-secret` });

/**
 * Codes and tokens by value, each bound to the client it was issued to: one set without a
 * `clientId` (a test seeding a token, as an older deployment left it) belongs to the
 * platform's deployment client, as every token did before apps brought their own.
 */
class ClientBound extends Map {
  set(key, grant) {
    if (grant && grant.clientId === undefined && grant.platform) grant.clientId = credsFor(grant.platform).id;
    return super.set(key, grant);
  }
}

/** The worker vars that configure `ids` with their test credentials (`X_CLIENT_ID`, ...). */
export function credentialVars(ids) {
  const vars = {};
  for (const id of ids) {
    vars[`${id.toUpperCase()}_CLIENT_ID`] = credsFor(id).id;
    vars[`${id.toUpperCase()}_CLIENT_SECRET`] = credsFor(id).secret;
  }
  return vars;
}

/** Where each platform's consent screen lives, and what its authorize URL must carry. */
const AUTHORIZE = {
  instagram: { url: 'https://www.instagram.com/oauth/authorize', sep: ',', pkce: false },
  facebook: { url: 'https://www.facebook.com/v25.0/dialog/oauth', sep: ',', pkce: false },
  // Facebook's own consent screen: told apart from `facebook` by the client id.
  instagram_facebook: { url: 'https://www.facebook.com/v25.0/dialog/oauth', sep: ',', pkce: false },
  threads: { url: 'https://threads.net/oauth/authorize', sep: ',', pkce: false },
  linkedin: { url: 'https://www.linkedin.com/oauth/v2/authorization', sep: ' ', pkce: false },
  x: { url: 'https://x.com/i/oauth2/authorize', sep: ' ', pkce: true },
  youtube: { url: 'https://accounts.google.com/o/oauth2/v2/auth', sep: ' ', pkce: true },
  tiktok: { url: 'https://www.tiktok.com/v2/auth/authorize/', sep: ',', pkce: true, idParam: 'client_key' },
  pinterest: { url: 'https://www.pinterest.com/oauth/', sep: ',', pkce: false },
  reddit: { url: 'https://www.reddit.com/api/v1/authorize', sep: ' ', pkce: false },
  acme: { url: 'https://id.acme.test/authorize', sep: ' ', pkce: true },
  globex: { url: 'https://login.globex.test/oauth/authorize', sep: ',', pkce: false },
};

/** Facebook Login's permissions (https://developers.facebook.com/docs/permissions), for both of its apps. */
const FACEBOOK_PERMISSIONS = ['ads_management', 'ads_read', 'attribution_read', 'business_management', 'catalog_management',
  'email', 'instagram_basic', 'instagram_branded_content_ads_brand', 'instagram_branded_content_brand',
  'instagram_branded_content_creator', 'instagram_content_publish', 'instagram_manage_comments', 'instagram_manage_events',
  'instagram_manage_insights', 'instagram_manage_messages', 'instagram_shopping_tag_products', 'leads_retrieval',
  'page_events', 'pages_manage_ads', 'pages_manage_cta', 'pages_manage_engagement', 'pages_manage_instant_articles',
  'pages_manage_metadata', 'pages_manage_posts', 'pages_messaging', 'pages_read_engagement', 'pages_read_user_content',
  'pages_show_list', 'pages_utility_messaging', 'public_profile', 'publish_video', 'read_insights', 'user_age_range',
  'user_birthday', 'user_friends', 'user_gender', 'user_hometown', 'user_likes', 'user_link', 'user_location',
  'user_photos', 'user_posts', 'user_videos', 'whatsapp_business_management', 'whatsapp_business_messaging'];

/**
 * The scopes a platform's consent screen knows, from its documented list; a scope outside it
 * is refused at the authorize step, in the platform's own way (`refuseScopes`). Every platform
 * these mocks serve is listed, so a worker default the platform does not know fails its connect.
 */
export const KNOWN_SCOPES = {
  // https://developers.tiktok.com/doc/tiktok-api-scopes (checked 2026-12-07)
  tiktok: ['user.info.basic', 'user.info.profile', 'user.info.stats', 'video.list', 'video.publish', 'video.upload',
    'artist.certification.read', 'artist.certification.update', 'research.adlib.basic', 'research.data.basic'],
  // https://developers.pinterest.com/docs/getting-started/authentication-and-scopes/#pinterest-scopes
  pinterest: ['ads:read', 'ads:write', 'billing:read', 'billing:write', 'biz_access:read', 'biz_access:write', 'boards:read',
    'boards:read_secret', 'boards:write', 'boards:write_secret', 'catalogs:read', 'catalogs:write', 'pins:read',
    'pins:read_secret', 'pins:write', 'pins:write_secret', 'user_accounts:read', 'user_accounts:write'],
  // https://www.reddit.com/api/v1/scopes (as listed by PRAW's refresh-token guide)
  reddit: ['*', 'account', 'creddits', 'edit', 'flair', 'history', 'identity', 'livemanage', 'modconfig', 'modcontributors',
    'modflair', 'modlog', 'modmail', 'modothers', 'modposts', 'modself', 'modwiki', 'mysubreddits', 'privatemessages',
    'read', 'report', 'save', 'structuredstyles', 'submit', 'subscribe', 'vote', 'wikiedit', 'wikiread'],
  // https://developers.facebook.com/docs/threads/get-started (permissions)
  threads: ['threads_basic', 'threads_content_publish', 'threads_manage_replies', 'threads_read_replies',
    'threads_manage_insights', 'threads_keyword_search', 'threads_manage_mentions', 'threads_delete',
    'threads_location_tagging', 'threads_profile_discovery'],
  // https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code (scopes table)
  x: ['tweet.read', 'tweet.write', 'tweet.moderate.write', 'users.email', 'users.read', 'follows.read', 'follows.write',
    'offline.access', 'space.read', 'mute.read', 'mute.write', 'like.read', 'like.write', 'list.read', 'list.write',
    'block.read', 'block.write', 'bookmark.read', 'bookmark.write', 'dm.read', 'dm.write', 'media.write'],
  // https://developers.google.com/youtube/v3/guides/auth/server-side-web-apps (YouTube Data API
  // scopes), with Google's sign-in scopes
  youtube: ['https://www.googleapis.com/auth/youtube', 'https://www.googleapis.com/auth/youtube.channel-memberships.creator',
    'https://www.googleapis.com/auth/youtube.force-ssl', 'https://www.googleapis.com/auth/youtube.readonly',
    'https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtubepartner',
    'https://www.googleapis.com/auth/youtubepartner-channel-audit', 'openid', 'email', 'profile',
    'https://www.googleapis.com/auth/userinfo.email', 'https://www.googleapis.com/auth/userinfo.profile'],
  // https://learn.microsoft.com/en-us/linkedin/shared/authentication/getting-access (open
  // permissions) and https://learn.microsoft.com/en-us/linkedin/marketing/increasing-access
  linkedin: ['openid', 'profile', 'email', 'w_member_social', 'r_1st_connections_size', 'r_ads_reporting', 'r_basicprofile',
    'r_organization_admin', 'r_organization_social', 'r_ads', 'rw_ads', 'rw_organization_admin', 'w_organization_social',
    'rw_dmp_segments'],
  // https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login
  instagram: ['instagram_business_basic', 'instagram_business_content_publish', 'instagram_business_manage_messages',
    'instagram_business_manage_comments', 'instagram_business_manage_insights'],
  facebook: FACEBOOK_PERMISSIONS,
  instagram_facebook: FACEBOOK_PERMISSIONS,
  // The test providers (CUSTOM_PROVIDERS below): what their servers offer.
  acme: ['openid', 'profile', 'email', 'offline_access'],
  globex: ['read', 'write'],
};

/** The consent screens that show an unknown scope as an error page and send nobody back. */
const PAGE_REFUSALS = {
  // Meta's dialogs: an "Invalid Scopes" page for the app's developers.
  threads: (unknown) => `Invalid Scopes: ${unknown.join(', ')}. This message is only shown to developers.`,
  instagram: (unknown) => `Invalid Scopes: ${unknown.join(', ')}. This message is only shown to developers.`,
  facebook: (unknown) => `Invalid Scopes: ${unknown.join(', ')}. This message is only shown to developers.`,
  instagram_facebook: (unknown) => `Invalid Scopes: ${unknown.join(', ')}. This message is only shown to developers.`,
  // Google: "Access blocked: Authorization Error" with the scopes it refused.
  youtube: (unknown) => `Access blocked: Authorization Error. Error 400: invalid_scope. Some requested scopes were invalid. {invalid=[${unknown.join(', ')}]}`,
};

/**
 * What a consent screen does with scopes it does not know: TikTok, Pinterest, Reddit, X and the
 * test providers send the browser back with RFC 6749's `error=invalid_scope` (TikTok and Reddit
 * list it among their redirect errors; X documents no error of its own); LinkedIn sends it back
 * with its own `unauthorized_scope_error`; Meta's dialogs and Google's show an error page and
 * send nobody back (`PAGE_REFUSALS`). Returns what `approve` answers instead of a code.
 */
function refuseScopes(platform, unknown, q) {
  const page = PAGE_REFUSALS[platform];
  if (page) return { page: page(unknown) };
  const [error, description] = platform === 'linkedin'
    ? ['unauthorized_scope_error', `Scope "${unknown[0]}" is not authorized for your application`]
    : ['invalid_scope', `Invalid scopes: ${unknown.join(', ')}`];
  const back = new URL(q.get('redirect_uri'));
  back.searchParams.set('error', error);
  back.searchParams.set('error_description', description);
  back.searchParams.set('state', q.get('state'));
  return { error, state: q.get('state'), redirectUri: q.get('redirect_uri'), back };
}

export class PlatformMocks {
  constructor() {
    this.codes = new ClientBound(); // code -> grant
    this.tokens = new ClientBound(); // access token -> grant
    this.calls = []; // every request seen, for assertions
    this.failures = new Map(); // "platform:endpoint" -> Response factory, used once
    this.delays = new Map(); // "platform:endpoint" -> ms to wait before answering
    this.holds = new Map(); // "platform:endpoint" -> [Promise], each holding one call until let go
    this.pages = new Map(); // user -> Facebook Pages (setPages)
    this.pageTokens = new Map(); // page id -> latest Page token issued
    this.pageSubscriptions = new Map(); // "client id:page id" -> subscribed_fields (Graph's subscribed_apps)
    this.organizations = new Map(); // user -> LinkedIn organizations with roles (setOrganizations)
    this.apiKeys = new Map(); // pasted API key -> user, for the API-key providers (issueApiKey)
    this.loopback = []; // requests to this machine (the sandbox, or a host that must never be called)
    this.clients = new Map(); // platform -> Map(client id -> secret): apps' own clients (allowClient)
    this.authorizations = []; // every consent screen approve() passed: { platform, clientId, user, scopes }
    this.metaPermissions = new Map(); // "client id:user" -> Map(permission -> 'granted' | 'declined'), as Graph's /me/permissions lists them
    this.handle = this.handle.bind(this);
  }

  /**
   * The Facebook Pages `user` has a role on, as `/me/accounts` lists them (for `facebook` and
   * `instagram_facebook` logins alike): `[{ id, name, tasks?, instagram?: { id, username, name,
   * profile_picture_url } }]`. `[]` is a login without Pages. Unset: two Pages, the first with
   * an Instagram account.
   */
  setPages(user, pages) {
    this.pages.set(user, pages);
  }

  /** The Pages of `user` (the default pair when none were set). */
  pagesOf(user) {
    return this.pages.get(user) ?? [
      { id: `1001${user}`, name: `Page One of ${user}`, instagram: { id: `17841001${user}`, username: `ig_page1_${user}`, name: `IG Page One of ${user}`, profile_picture_url: `https://cdn.instagram.test/page1_${user}.jpg` } },
      { id: `1002${user}`, name: `Page Two of ${user}` },
    ];
  }

  /** The latest Page access token issued for `pageId` by `/me/accounts` (undefined if none). */
  pageToken(pageId) {
    return this.pageTokens.get(pageId);
  }

  /**
   * The LinkedIn organizations `user` has a role on, as `organizationAcls` lists them (every
   * role and state: the worker must keep approved administrators only): `[{ id, name, vanity,
   * role: 'ADMINISTRATOR' | 'ANALYST' | ..., state: 'APPROVED' | 'REQUESTED' | ... }]`. Unset:
   * one organization administered, one only analysed.
   */
  setOrganizations(user, organizations) {
    this.organizations.set(user, organizations);
  }

  /** The organizations of `user` (the default pair when none were set). */
  organizationsOf(user) {
    return this.organizations.get(user) ?? [
      { id: 2001, name: `Org of ${user}`, vanity: `org-${user}`, role: 'ADMINISTRATOR', state: 'APPROVED' },
      { id: 2002, name: `Analysed Org of ${user}`, vanity: `analysed-${user}`, role: 'ANALYST', state: 'APPROVED' },
    ];
  }

  /**
   * The grant behind a Graph token (Bearer header, or `access_token` in the query as Graph also
   * accepts) when it is a live token of `kinds` from a Facebook Login app.
   */
  graphBearer(call, kinds = ['access']) {
    const m = /^Bearer (.+)$/.exec(call.headers.authorization || '');
    const token = m ? m[1] : call.query.access_token;
    const g = token && this.tokens.get(token);
    return g && FACEBOOK_LOGIN.includes(g.platform) && kinds.includes(g.kind) && !g.revoked ? g : null;
  }

  /** A key `user` can paste for the API-key providers (`keyed`, `querykey`); revoke with `apiKeys.delete`. */
  issueApiKey(user) {
    const key = rand('key_');
    this.apiKeys.set(key, user);
    return key;
  }

  /**
   * Registers an app's own client at `platform` (a second platform app, as a tenant registers
   * its own), beside the deployment's (`credsFor`): the consent screen and the token, swap and
   * revoke endpoints then take either, and still refuse any other id or a wrong secret. A code
   * or token stays bound to the client it was issued to, as on the platforms: another client
   * cannot redeem, refresh, swap or revoke it. Called again for the same id, it replaces the
   * secret (a rotation at the platform: the old secret stops working).
   */
  allowClient(platform, id, secret) {
    if (!AUTHORIZE[platform]) throw new Error(`allowClient: no mock consent screen for ${platform}`);
    if (id === credsFor(platform).id) throw new Error(`allowClient: ${id} is the deployment's client of ${platform}`);
    if (!this.clients.has(platform)) this.clients.set(platform, new Map());
    this.clients.get(platform).set(id, secret);
  }

  /** Removes an app's own client from `platform` (its platform app deleted): it is refused from then on. */
  forgetClient(platform, id) {
    this.clients.get(platform)?.delete(id);
  }

  /** The clients `platform` accepts: the deployment's first, then the apps' own ({ id, secret }). */
  clientsOf(platform) {
    return [credsFor(platform), ...[...(this.clients.get(platform) ?? new Map())].map(([id, secret]) => ({ id, secret }))];
  }

  /** The client id a token (access, refresh, short-lived or Page) was issued to (undefined if unknown). */
  clientOfToken(token) {
    return this.tokens.get(token)?.clientId;
  }

  /** The next call to `platform`'s `endpoint` ('token', 'identity', 'swap') answers `make()`. */
  failNext(platform, endpoint, make) {
    this.failures.set(`${platform}:${endpoint}`, make);
  }

  /**
   * Holds the next call to `key` ("platform:endpoint", or "platform:refresh" for a refresh-token
   * grant alone) unanswered until the returned function is called: the call stays
   * `answered: undefined` until then, whatever the worker did meanwhile.
   */
  hold(key) {
    let release;
    const released = new Promise((r) => { release = r; });
    if (!this.holds.has(key)) this.holds.set(key, []);
    this.holds.get(key).push(released);
    return release;
  }

  /**
   * Plays the user approving on the platform's consent screen: checks the authorize URL the
   * worker built, and returns the code the platform would put on the redirect (or, for a
   * scope the platform does not know, its refusal: see `refuseScopes`). `grant`: the scopes
   * the user leaves ticked (default: all requested); `decline`: those the user unticks. On
   * Facebook Login the dialog works as Meta's does (`metaGrant`).
   */
  approve(authorizeUrl, { user = 'u1', grant, decline } = {}) {
    const u = new URL(authorizeUrl);
    const q = u.searchParams;
    // Several platforms may share a consent screen (Facebook Login): the client id tells which.
    const here = Object.keys(AUTHORIZE).filter((p) => AUTHORIZE[p].url === u.origin + u.pathname);
    if (!here.length) throw new Error(`no mock consent screen at ${u.origin}${u.pathname}`);
    const known = (p) => this.clientsOf(p).some((c) => c.id === q.get(AUTHORIZE[p].idParam || 'client_id'));
    const platform = here.find(known) ?? here[0];
    const spec = AUTHORIZE[platform];
    const clientId = q.get(spec.idParam || 'client_id');
    if (!known(platform)) throw new Error(`${platform}: wrong client id ${clientId}`);
    if (spec.idParam && q.has('client_id')) throw new Error(`${platform}: client_id sent instead of ${spec.idParam}`);
    if (q.get('response_type') !== 'code' || !q.get('state') || !q.get('redirect_uri')) throw new Error(`${platform}: bad authorize request`);
    if (spec.pkce !== q.has('code_challenge')) throw new Error(`${platform}: PKCE challenge ${q.has('code_challenge') ? 'sent' : 'missing'}`);
    if (spec.pkce && q.get('code_challenge_method') !== 'S256') throw new Error(`${platform}: not S256`);
    const requested = (q.get('scope') || '').split(spec.sep).filter(Boolean);
    // A scope the platform does not know: its error instead of a code (see refuseScopes).
    if (!KNOWN_SCOPES[platform]) throw new Error(`${platform}: the mock knows none of its scopes`);
    const unknown = requested.filter((s) => !KNOWN_SCOPES[platform].includes(s));
    if (unknown.length) return refuseScopes(platform, unknown, q);
    let ticked = grant ?? requested;
    if (decline) ticked = ticked.filter((x) => !decline.includes(x));
    const scopes = FACEBOOK_LOGIN.includes(platform) ? this.metaGrant(clientId, user, requested, ticked, q.get('auth_type')) : ticked;
    const code = rand(`${platform}_code_`);
    this.codes.set(code, {
      platform, user, redirectUri: q.get('redirect_uri'), challenge: q.get('code_challenge'),
      scopes, clientId,
    });
    this.authorizations.push({ platform, clientId, user, scopes, authType: q.get('auth_type') });
    return { code, state: q.get('state'), redirectUri: q.get('redirect_uri'), clientId };
  }

  /**
   * Facebook Login's dialog, per https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
   * and .../facebook-login/web/permissions (checked 2026-12-07): it shows only the permissions
   * the person has not granted the app yet, and not one the person declined before unless the
   * dialog was asked with `auth_type=rerequest`; each one shown becomes granted (ticked) or
   * declined. `public_profile` is always granted. Returns every permission now granted (what
   * the token can do); `GET /me/permissions` lists them all with their status.
   */
  metaGrant(clientId, user, requested, ticked, authType) {
    const key = `${clientId}:${user}`;
    const perms = this.metaPermissions.get(key) ?? new Map([['public_profile', 'granted']]);
    for (const p of requested) {
      // An expired permission is asked again like one never asked.
      if (perms.get(p) === 'granted') continue;
      if (perms.get(p) === 'declined' && authType !== 'rerequest') continue;
      perms.set(p, ticked.includes(p) ? 'granted' : 'declined');
    }
    this.metaPermissions.set(key, perms);
    return [...perms].filter(([, status]) => status === 'granted').map(([p]) => p);
  }

  /**
   * Marks `permissions` of `user` at the Meta app `clientId` expired, as Graph lists a
   * permission whose data access expired (`status: "expired"`): not granted until asked again.
   */
  metaExpire(clientId, user, permissions) {
    const perms = this.metaPermissions.get(`${clientId}:${user}`);
    for (const p of permissions) if (perms?.has(p)) perms.set(p, 'expired');
  }

  /** Miniflare's outboundService. Each answer closes its connection (see `closing`). */
  async handle(request) {
    return closing(await this.answer(request));
  }

  async answer(request) {
    const url = new URL(request.url);
    if (['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname)) {
      this.loopback.push({ method: request.method, url: request.url });
      const body = ['GET', 'HEAD'].includes(request.method) ? undefined : await request.arrayBuffer();
      return fetch(request.url, { method: request.method, headers: request.headers, body, redirect: 'manual' });
    }
    // Calls through the proxy (tests/e2e/proxy.test.mjs): a test answers them itself, body
    // unread until it chooses, and returns nothing to leave a call to the routes below.
    if (this.api) {
      const res = await this.api(request, url);
      if (res) return res;
    }
    const headers = Object.fromEntries(request.headers);
    const body = request.method === 'GET' || request.method === 'DELETE' ? '' : await request.text();
    const form = Object.fromEntries(new URLSearchParams(body));
    const query = Object.fromEntries(url.searchParams);
    const call = { host: url.hostname, path: url.pathname, method: request.method, headers, form, query };
    call.clientId = this.clientOfCall(call);
    this.calls.push(call);
    const route = ROUTES.find((r) => r.host === url.hostname && (r.path === url.pathname || r.pathRe?.test(url.pathname)) && r.method === request.method);
    if (!route) return json(404, { error: 'no_such_mock_route', route: `${request.method} ${url.hostname}${url.pathname}` });
    // A route shared by several apps (Facebook Login) names the platform of this call.
    call.platform = route.platformOf?.(this, call) ?? route.platform;
    call.endpoint = route.endpoint;
    // A refresh is told apart from a code exchange when it arrives, not when it is answered:
    // a delayed answer must not turn a call recorded earlier into a refresh later (a test
    // counting refreshes would see it appear under its feet).
    if (route.endpoint === 'token' && call.form.grant_type === 'refresh_token') call.endpoint = 'refresh';
    // A refresh-token grant can be delayed on its own ("x:refresh"), apart from code exchanges.
    const grantKey = call.form.grant_type === 'refresh_token' ? `${call.platform}:refresh` : null;
    const delay = this.delays.get(`${call.platform}:${route.endpoint}`) ?? (grantKey && this.delays.get(grantKey));
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const held = this.holds.get(`${call.platform}:${route.endpoint}`)?.shift() ?? (grantKey && this.holds.get(grantKey)?.shift());
    if (held) await held;
    // From here the call is answered (a test can tell a call the worker gave up on early).
    call.answered = true;
    const fail = this.failures.get(`${call.platform}:${route.endpoint}`);
    if (fail) this.failures.delete(`${call.platform}:${route.endpoint}`);
    const res = fail ? fail() : await route.run(this, call);
    // What the platform answered (a test asserts on it rather than on `answered` alone).
    call.status = res.status;
    return res;
  }

  /**
   * The client id a call used: the one it presented (HTTP Basic, `client_id` or `client_key` in
   * the body or the query), else the client its token was issued to (a bearer call, a swap that
   * sends only the secret, a refresh without client authentication). Undefined when neither.
   */
  clientOfCall(call) {
    const basic = /^Basic (.+)$/.exec(call.headers.authorization || '');
    if (basic) {
      const pair = Buffer.from(basic[1], 'base64').toString();
      const colon = pair.indexOf(':');
      try {
        return decodeURIComponent(colon < 0 ? pair : pair.slice(0, colon));
      } catch {
        return pair;
      }
    }
    const presented = call.form.client_id ?? call.form.client_key ?? call.query.client_id ?? call.query.client_key;
    if (presented !== undefined) return presented;
    const bearer = /^Bearer (.+)$/.exec(call.headers.authorization || '');
    const token = bearer?.[1] ?? call.query.access_token ?? call.query.fb_exchange_token ?? call.form.refresh_token ?? call.form.token;
    return token === undefined ? undefined : this.clientOfToken(token);
  }

  /**
   * The subscribe / unsubscribe requests Google's WebSub hub received (newest last), each as
   * `{ callback, mode, topic, secret, lease, verify }` from its form.
   */
  hubRequests() {
    return this.calls.filter((c) => c.host === 'pubsubhubbub.appspot.com' && c.path === '/subscribe').map((c) => ({
      callback: c.form['hub.callback'], mode: c.form['hub.mode'], topic: c.form['hub.topic'],
      secret: c.form['hub.secret'], lease: c.form['hub.lease_seconds'], verify: c.form['hub.verify'],
    }));
  }

  /**
   * Plays the hub verifying a request at its callback (WebSub section 5.3,
   * https://www.w3.org/TR/websub/): a GET to `hub.callback` with `hub.mode`, `hub.topic`,
   * `hub.challenge` and, for a subscribe, `hub.lease_seconds` appended to its query (the
   * callback's own query preserved). Returns `{ status, text, type, challenge }`; the hub
   * takes the request as verified only on a 2xx whose body is the challenge.
   */
  async hubVerify(request, { mode = request.mode, topic = request.topic, lease = 432000, challenge = rand('chal') } = {}) {
    const url = new URL(request.callback);
    url.searchParams.append('hub.mode', mode);
    url.searchParams.append('hub.topic', topic);
    url.searchParams.append('hub.challenge', challenge);
    if (mode === 'subscribe' && lease !== null) url.searchParams.append('hub.lease_seconds', String(lease));
    const r = await fetch(url, { redirect: 'manual' });
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type'), challenge };
  }

  /**
   * Plays the hub delivering `atom` (a string) to a verified subscription's callback (WebSub
   * section 7): a POST of the feed, `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body under
   * hub.secret>` as Google's hub signs (its W3C implementation report ticks sha1 only).
   * `secret` overrides the subscription's (a forgery); `signature: null` sends none.
   */
  async hubDeliver(request, atom, { secret = request.secret, signature } = {}) {
    const sig = signature === undefined ? `sha1=${crypto.createHmac('sha1', secret).update(atom).digest('hex')}` : signature;
    const headers = { 'content-type': 'application/atom+xml' };
    if (sig !== null) headers['x-hub-signature'] = sig;
    // A body over the worker's cap on a connection of its own (harness.mjs says why).
    const r = Buffer.byteLength(atom) > 64 * 1024
      ? await ownConnection(request.callback, 'POST', headers, atom)
      : await fetch(request.callback, { method: 'POST', body: atom, headers, redirect: 'manual' });
    return { status: r.status, text: await r.text() };
  }

  /**
   * Spends a refresh token of `platform` presented by `clientId`; rotating platforms kill it.
   * Returns the grant or null (a token issued to another client is refused, as RFC 6749
   * section 6 has it).
   */
  useRefresh(platform, token, { rotate, clientId }) {
    const g = this.tokens.get(token);
    if (!g || g.platform !== platform || g.kind !== 'refresh' || g.revoked) return null;
    if (g.clientId !== clientId) return null;
    if (rotate) g.revoked = true;
    return g;
  }

  /**
   * Checks and spends a code for `platform` redeemed by `clientId`; returns the grant or an
   * error string (a code issued to another client is refused, as RFC 6749 section 4.1.3 has it).
   */
  redeem(platform, code, redirectUri, verifier, clientId) {
    const g = this.codes.get(code);
    if (!g || g.platform !== platform) return 'invalid_grant: unknown code';
    this.codes.delete(code);
    if (g.clientId !== clientId) return 'invalid_grant: code was issued to another client';
    if (g.redirectUri !== redirectUri) return 'invalid_grant: redirect_uri mismatch';
    if (g.challenge) {
      if (!verifier) return 'invalid_request: code_verifier missing';
      if (s256(verifier) !== g.challenge) return 'invalid_grant: code_verifier does not match';
    } else if (verifier !== undefined) {
      return 'invalid_request: code_verifier sent without a challenge';
    }
    return g;
  }

  /** A new token of `kind` for `grant`, issued now (`issuedAt`, ms; see `age`). */
  issue(grant, prefix, kind = 'access') {
    const token = rand(prefix);
    this.tokens.set(token, { ...grant, kind, revoked: false, issuedAt: Date.now() });
    return token;
  }

  /** Makes `token` as old as `seconds`, as a test moves the worker's own record of it back. */
  age(token, seconds) {
    const g = this.tokens.get(token);
    if (!g) throw new Error('age: no such token');
    g.issuedAt = Date.now() - seconds * 1000;
  }

  /** The grant behind `Authorization: Bearer <token>` if it is an access token of `platform`. */
  bearer(platform, call, kind = 'access') {
    const m = /^Bearer (.+)$/.exec(call.headers.authorization || '');
    const g = m && this.tokens.get(m[1]);
    return g && g.platform === platform && g.kind === kind ? g : null;
  }
}

/** HTTP Basic with one of the clients `platform` accepts (`m.clientsOf`), its own secret. */
function basicOk(m, platform, call) {
  return m.clientsOf(platform).some((c) => call.headers.authorization === basicOf(c.id, c.secret));
}

/** The client id (`idParam`) and secret in the body, of one of the clients `platform` accepts. */
function bodyOk(m, platform, call, idParam = 'client_id') {
  return m.clientsOf(platform).some((c) => call.form[idParam] === c.id && call.form.client_secret === c.secret);
}

/** The secret of `platform`'s client `id` (undefined for a client the platform does not know). */
const secretOf = (m, platform, id) => m.clientsOf(platform).find((c) => c.id === id)?.secret;

const oauthError = (status, error, description) => json(status, { error, error_description: description });
const redeemError = (r) => oauthError(400, r.split(':')[0], r);

/**
 * Instagram and Threads refresh a long-lived token only once it is at least 24 hours old
 * (https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token/ and
 * https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/). The docs do not
 * show the refusal; this is Graph's error shape with its invalid-parameter code.
 */
const SELF_EXCHANGE_MIN_AGE_MS = 24 * 3600 * 1000;
const tooYoung = (g) => Date.now() - g.issuedAt < SELF_EXCHANGE_MIN_AGE_MS;
const tooYoungError = () => json(400, { error: { message: '(#100) The access token must be at least 24 hours old to be refreshed', type: 'OAuthException', code: 100, fbtrace_id: 'mock' } });

/**
 * Instagram's and Threads' swap of a short-lived token for a 60-day one (GET, secret in the
 * query: the secret of the app the token was issued to).
 */
function metaSwap(platform, host, grantType, prefix) {
  return { platform, endpoint: 'swap', method: 'GET', host, path: '/access_token', run(m, c) {
    const g = m.tokens.get(c.query.access_token);
    if (c.query.grant_type !== grantType || !g || g.kind !== 'short' || c.query.client_secret !== secretOf(m, platform, g.clientId)) {
      return json(400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } });
    }
    return json(200, { access_token: m.issue(g, prefix), token_type: 'bearer', expires_in: 5183944 });
  } };
}

/** The apps that sign in with Facebook Login (same endpoints, their own client ids). */
const FACEBOOK_LOGIN = ['facebook', 'instagram_facebook'];

/** Which Facebook Login app a Graph call belongs to: by client id, else by its token. */
function metaAppOf(m, c) {
  const byId = FACEBOOK_LOGIN.find((p) => m.clientsOf(p).some((x) => x.id === c.query.client_id));
  if (byId) return byId;
  const bearer = /^Bearer (.+)$/.exec(c.headers.authorization || '');
  const g = m.tokens.get(bearer ? bearer[1] : c.query.access_token);
  return g && FACEBOOK_LOGIN.includes(g.platform) ? g.platform : 'facebook';
}

/** Graph's error answer, with the WWW-Authenticate header Graph sends on token errors. */
const graphError = (status, message, code) => json(status, { error: { message, type: 'OAuthException', code, fbtrace_id: 'mock' } },
  code === 190 ? { 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${message}"` } : {});

/** Page fields the mock knows, and the IG User fields nested under instagram_business_account. */
const PAGE_FIELDS = ['id', 'name', 'access_token', 'picture', 'tasks', 'category', 'instagram_business_account'];
const IG_USER_FIELDS = ['id', 'username', 'name', 'profile_picture_url'];

/**
 * Graph's `fields` syntax (`a,b{c,d},e`) as [[name, subfields | null]], or an error message.
 * One level of nesting, as the listing calls use.
 */
function parseFields(spec) {
  const out = [];
  let i = 0;
  while (i < spec.length) {
    const m = /^([a-z_]+)(\{([a-z_,]*)\})?(,|$)/.exec(spec.slice(i));
    if (!m) return `(#100) Syntax error "Expected end of string instead of ..." at character ${i}: ${spec}`;
    out.push([m[1], m[3] !== undefined ? m[3].split(',').filter(Boolean) : null]);
    i += m[0].length;
  }
  return out;
}

/** LinkedIn's error shape. */
const linkedinError = (status, code, message) => json(status, { status, code, message });

/**
 * What every versioned (`/rest`) LinkedIn call must carry, checked as LinkedIn does: a live
 * member token, `LinkedIn-Version: YYYYMM` and Rest.li 2.0. Returns [grant] or [null, answer].
 */
function linkedinRest(m, c) {
  const g = m.bearer('linkedin', c);
  if (!g || g.revoked) return [null, json(401, { status: 401, serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' })];
  const version = c.headers['linkedin-version'];
  if (!version) return [null, linkedinError(400, 'VERSION_MISSING', 'A version must be present. Please specify a version by adding the LinkedIn-Version header.')];
  if (!/^20\d\d(0[1-9]|1[0-2])$/.test(version)) return [null, linkedinError(400, 'INVALID_VERSION', `Invalid version format: ${version}. The version must be YYYYMM.`)];
  if (c.headers['x-restli-protocol-version'] !== '2.0.0') return [null, linkedinError(400, 'ILLEGAL_ARGUMENT', 'Rest.li protocol version 2.0.0 is required (X-Restli-Protocol-Version)')];
  const orgScopes = ['rw_organization_admin', 'r_organization_admin', 'w_organization_social', 'r_organization_social'];
  if (!g.scopes.some((s) => orgScopes.includes(s))) return [null, json(403, { status: 403, serviceErrorCode: 100, code: 'ACCESS_DENIED', message: `Not enough permissions to access: ${c.path}` })];
  return [g, null];
}

/** The Page webhook fields the mock takes in `subscribed_fields` (a few of Graph's). */
const PAGE_WEBHOOK_FIELDS = ['feed', 'mention', 'messages', 'messaging_postbacks', 'message_reactions', 'ratings', 'videos', 'live_videos'];

/** Graph's `{page-id}/subscribed_apps` (POST and DELETE; see its routes). */
function pageSubscription(m, c) {
  const bearer = /^Bearer (.+)$/.exec(c.headers.authorization || '');
  const token = bearer ? bearer[1] : c.query.access_token;
  if (!token) return graphError(400, 'An access token is required to request this resource.', 104);
  const g = m.tokens.get(token);
  if (!g || g.revoked || !FACEBOOK_LOGIN.includes(g.platform)) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
  const pageId = c.path.split('/')[2];
  if (g.kind !== 'page') return graphError(400, '(#210) A page access token is required to request this resource.', 210);
  if (g.pageId !== pageId) return graphError(403, '(#200) Permissions error', 200);
  const key = `${g.clientId}:${pageId}`;
  // The permissions the reference lists for a POST (`pages_manage_metadata`,
  // `pages_show_list`; `pages_messaging` too for `messages`, per "Webhooks for Pages"), from
  // the login the Page token came from; Graph's missing-permission answer is a 403 with code
  // 200. The DELETE's own permissions are not in the docs read: not checked.
  const need = (fields) => ['pages_manage_metadata', 'pages_show_list', ...(fields.includes('messages') ? ['pages_messaging'] : [])];
  if (c.method === 'DELETE') {
    m.pageSubscriptions.delete(key);
    return json(200, { success: true });
  }
  const fields = (c.form.subscribed_fields ?? c.query.subscribed_fields ?? '').split(',').filter(Boolean);
  if (!fields.length) return graphError(400, '(#100) The parameter subscribed_fields is required', 100);
  const unknown = fields.find((f) => !PAGE_WEBHOOK_FIELDS.includes(f));
  if (unknown) return graphError(400, `(#100) Param subscribed_fields[0] must be one of {${PAGE_WEBHOOK_FIELDS.join(', ')}} - got "${unknown}".`, 100);
  const missing = need(fields).find((p) => !(g.scopes ?? []).includes(p));
  if (missing) return graphError(403, `(#200) Requires ${missing} permission to manage the object`, 200);
  m.pageSubscriptions.set(key, fields);
  // The Pages webhooks page shows `{"success": "true"}`, the reference a boolean: the mock
  // answers the string, the worker takes both.
  return json(200, { success: 'true' });
}

// Each route is one endpoint of one platform's dialect.
const ROUTES = [
  // Instagram API with Instagram Login
  { platform: 'instagram', endpoint: 'token', method: 'POST', host: 'api.instagram.com', path: '/oauth/access_token', run(m, c) {
    if (!bodyOk(m, 'instagram', c)) return json(400, { error_type: 'OAuthException', code: 101, error_message: 'Error validating client secret' });
    if (c.form.grant_type !== 'authorization_code') return json(400, { error_type: 'OAuthException', code: 400, error_message: 'Unsupported grant_type' });
    if (c.form.code.includes('#')) return json(400, { error_type: 'OAuthException', code: 100, error_message: 'Invalid code' });
    const g = m.redeem('instagram', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return json(400, { error_type: 'OAuthException', code: 100, error_message: g });
    return json(200, { data: [{ access_token: m.issue(g, 'IGshort_', 'short'), user_id: `17841${g.user}`, permissions: g.scopes.join(',') }] });
  } },
  metaSwap('instagram', 'graph.instagram.com', 'ig_exchange_token', 'IGlong_'),
  { platform: 'instagram', endpoint: 'refresh', method: 'GET', host: 'graph.instagram.com', path: '/refresh_access_token', run(m, c) {
    const g = m.tokens.get(c.query.access_token);
    if (c.query.grant_type !== 'ig_refresh_token' || !g || g.platform !== 'instagram' || g.kind !== 'access') {
      return json(400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } });
    }
    if (tooYoung(g)) return tooYoungError();
    return json(200, { access_token: m.issue(g, 'IGlong_'), token_type: 'bearer', expires_in: 5183944 });
  } },
  { platform: 'instagram', endpoint: 'identity', method: 'GET', host: 'graph.instagram.com', path: '/me', run(m, c) {
    const g = m.bearer('instagram', c);
    if (!g) return json(400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } });
    return json(200, { user_id: `17841${g.user}`, username: `ig_${g.user}`, name: `IG ${g.user}`, profile_picture_url: `https://cdn.instagram.test/${g.user}.jpg`, id: 'app-scoped' });
  } },

  // Facebook Login: `facebook` (Pages) and `instagram_facebook` (Instagram through Pages) are
  // two apps on the same endpoints; the client id or the token says which.
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'token', method: 'GET', host: 'graph.facebook.com', path: '/v25.0/oauth/access_token', run(m, c) {
    const q = c.query;
    const fbErr = (message, code = 100) => json(400, { error: { message, type: 'OAuthException', code } });
    const app = FACEBOOK_LOGIN.find((p) => m.clientsOf(p).some((x) => x.id === q.client_id));
    if (!app || q.client_secret !== secretOf(m, app, q.client_id)) return fbErr('Error validating client secret.', 1);
    if (q.grant_type === 'fb_exchange_token') {
      const g = m.tokens.get(q.fb_exchange_token);
      // A token is swapped only by the app it was issued to.
      if (!g || g.kind !== 'short' || g.platform !== app || g.clientId !== q.client_id) return fbErr('Invalid OAuth access token.', 190);
      c.endpoint = 'swap';
      return json(200, { access_token: m.issue(g, 'EAAlong_'), token_type: 'bearer', expires_in: 5183944 });
    }
    if ('code_verifier' in q) return fbErr('Invalid code verifier: a code_verifier was sent without a code_challenge');
    if (q.code.includes('#')) return fbErr('Invalid verification code format.');
    const g = m.redeem(app, q.code, q.redirect_uri, undefined, c.clientId);
    if (typeof g === 'string') return fbErr(g);
    return json(200, { access_token: m.issue(g, 'EAAshort_', 'short'), token_type: 'bearer', expires_in: 5183 });
  } },
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'identity', method: 'GET', host: 'graph.facebook.com', path: '/v25.0/me', run(m, c) {
    // A Page token answers /me as its Page (the liveness check of Page profiles uses it).
    const page = m.graphBearer(c, ['page']);
    if (page && !page.revoked) return json(200, { id: page.pageId, name: `Page ${page.pageId}` });
    const g = m.bearer('facebook', c) || m.bearer('instagram_facebook', c);
    if (!g) return json(400, { error: { message: 'Error validating access token: The session has been invalidated.', type: 'OAuthException', code: 190, error_subcode: 460 } });
    if (c.query.fields === 'id') return json(200, { id: `10${g.user}` });
    return json(200, { id: `10${g.user}`, name: `FB ${g.user}`, picture: { data: { url: `https://cdn.facebook.test/${g.user}.jpg`, is_silhouette: false } } });
  } },
  // The Pages the person has a role on, each with a Page token that does not expire (it was
  // asked with a long-lived user token). `{user-id}/accounts` serves the `paging.next` links.
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'accounts', method: 'GET', host: 'graph.facebook.com', path: '/v25.0/me/accounts', pathRe: /^\/v25\.0\/[^/]+\/accounts$/, run(m, c) {
    if (!c.headers.authorization && !c.query.access_token) {
      return graphError(400, 'An active access token must be used to query information about the current user.', 2500);
    }
    const g = m.graphBearer(c);
    if (!g) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
    const node = c.path.split('/')[2];
    if (node !== 'me' && node !== `10${g.user}`) return graphError(400, '(#100) Unsupported get request.', 100);
    const fields = parseFields(c.query.fields ?? 'access_token,category,name,id,tasks');
    if (typeof fields === 'string') return graphError(400, fields, 100);
    for (const [f, sub] of fields) {
      if (!PAGE_FIELDS.includes(f)) return graphError(400, `(#100) Tried accessing nonexisting field (${f}) on node type (Page)`, 100);
      const allowed = f === 'instagram_business_account' ? IG_USER_FIELDS : f === 'picture' ? ['url', 'is_silhouette', 'height', 'width'] : [];
      const bad = (sub ?? []).find((x) => !allowed.includes(x));
      if (bad) return graphError(400, `(#100) Tried accessing nonexisting field (${bad})`, 100);
    }
    const limit = /^\d+$/.test(c.query.limit ?? '') ? Math.min(Math.max(Number(c.query.limit), 1), 100) : 25;
    const all = m.pagesOf(g.user);
    let start = 0;
    if (c.query.after !== undefined) {
      start = Number(Buffer.from(c.query.after, 'base64').toString());
      if (!Number.isInteger(start) || start < 0 || start > all.length) return graphError(400, 'Invalid cursor', 100);
    }
    const slice = all.slice(start, start + limit);
    const data = slice.map((page) => {
      const out = { id: page.id };
      for (const [f, sub] of fields) {
        if (f === 'name' && page.name !== undefined) out.name = page.name;
        if (f === 'category') out.category = page.category ?? 'Local business';
        if (f === 'tasks') out.tasks = page.tasks ?? ['ADVERTISE', 'ANALYZE', 'CREATE_CONTENT', 'MESSAGING', 'MODERATE', 'MANAGE'];
        if (f === 'picture') out.picture = { data: { url: `https://cdn.facebook.test/page_${page.id}.jpg`, is_silhouette: false, height: 50, width: 50 } };
        if (f === 'access_token') {
          const token = m.issue({ ...g, pageId: page.id }, 'EAAPage_', 'page');
          m.pageTokens.set(page.id, token);
          out.access_token = token;
        }
        if (f === 'instagram_business_account' && page.instagram) {
          const ig = { id: page.instagram.id };
          for (const x of sub ?? ['id']) if (page.instagram[x] !== undefined) ig[x] = page.instagram[x];
          out.instagram_business_account = ig;
        }
      }
      return out;
    });
    const paging = {};
    if (slice.length) {
      paging.cursors = { before: Buffer.from(String(start)).toString('base64'), after: Buffer.from(String(start + slice.length)).toString('base64') };
    }
    if (start + slice.length < all.length) {
      const next = new URL(`https://graph.facebook.com/v25.0/10${g.user}/accounts`);
      if (c.query.access_token) next.searchParams.set('access_token', c.query.access_token); // Graph echoes a query token
      if (c.query.fields) next.searchParams.set('fields', c.query.fields);
      next.searchParams.set('limit', String(limit));
      next.searchParams.set('after', paging.cursors.after);
      paging.next = next.toString();
    }
    if (start > 0 && slice.length) paging.previous = `https://graph.facebook.com/v25.0/10${g.user}/accounts?limit=${limit}&before=${paging.cursors.before}`;
    return json(200, { data, paging });
  } },
  // Grant-wide, as on Facebook: the app loses the person's permission, so every token of
  // that person for this client ends (its Page tokens too), whichever login produced it.
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'revoke', method: 'DELETE', host: 'graph.facebook.com', path: '/v25.0/me/permissions', run(m, c) {
    const g = m.bearer('facebook', c) || m.bearer('instagram_facebook', c);
    if (!g || g.revoked) return json(400, { error: { message: 'Invalid OAuth access token.', code: 190 } });
    for (const t of m.tokens.values()) if (t.platform === g.platform && t.user === g.user && t.clientId === g.clientId) t.revoked = true;
    m.metaPermissions.delete(`${g.clientId}:${g.user}`);
    return json(200, { success: true });
  } },
  // What the person granted and declined, as
  // https://developers.facebook.com/docs/graph-api/reference/user/permissions/ has it (checked
  // 2026-12-07): `{"data": [{"permission", "status": "granted" | "declined" | "expired"}]}`,
  // with a user token (Bearer or `access_token` in the query). Paged like every Graph edge
  // (https://developers.facebook.com/docs/graph-api/results/: `limit`, `paging.cursors`, and
  // `paging.next` on every page but the last), 25 a page unless `limit` says otherwise.
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'permissions', method: 'GET', host: 'graph.facebook.com', path: '/v25.0/me/permissions', run(m, c) {
    const g = m.graphBearer(c);
    if (!g) return graphError(400, 'Invalid OAuth access token - Cannot parse access token', 190);
    const perms = [...(m.metaPermissions.get(`${g.clientId}:${g.user}`) ?? new Map())];
    const limit = Math.max(1, Math.min(Number(c.query.limit) || 25, 5000));
    const start = Number(c.query.after ?? 0) || 0;
    const data = perms.slice(start, start + limit).map(([permission, status]) => ({ permission, status }));
    const paging = { cursors: { before: String(start), after: String(start + data.length) } };
    if (start + limit < perms.length) paging.next = `https://graph.facebook.com/v25.0/me/permissions?limit=${limit}&after=${start + limit}`;
    return json(200, { data, paging });
  } },

  // A Page's subscription of the app its token was issued to (POST with subscribed_fields,
  // DELETE), only with that Page's own token, as
  // https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps has it ("A
  // Page access token"; "the page-id you use in endpoint must match the page ID of the page
  // access token"); errors in Graph's shape (https://developers.facebook.com/docs/graph-api/guides/error-handling:
  // 190 a bad token, 2xx a permission error, 100 a bad parameter).
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'subscribed_apps', method: 'POST', host: 'graph.facebook.com', path: '/v25.0/{page-id}/subscribed_apps', pathRe: /^\/v25\.0\/[^/]+\/subscribed_apps$/, run: pageSubscription },
  { platform: 'facebook', platformOf: metaAppOf, endpoint: 'subscribed_apps', method: 'DELETE', host: 'graph.facebook.com', path: '/v25.0/{page-id}/subscribed_apps', pathRe: /^\/v25\.0\/[^/]+\/subscribed_apps$/, run: pageSubscription },

  // Threads
  { platform: 'threads', endpoint: 'token', method: 'POST', host: 'graph.threads.net', path: '/oauth/access_token', run(m, c) {
    if (!bodyOk(m, 'threads', c)) return json(400, { error: { message: 'Error validating client secret', type: 'OAuthException', code: 101 } });
    if (c.form.code.includes('#')) return json(400, { error: { message: 'Invalid code', type: 'OAuthException', code: 100 } });
    const g = m.redeem('threads', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return json(400, { error: { message: g, type: 'OAuthException', code: 100 } });
    return json(200, { access_token: m.issue(g, 'THshort_', 'short'), user_id: `th${g.user}` });
  } },
  metaSwap('threads', 'graph.threads.net', 'th_exchange_token', 'THlong_'),
  // A live long-lived token at least 24 hours old exchanged for a fresh one (no client
  // secret); a short-lived, revoked or unknown token is refused as Graph refuses a bad token,
  // a younger one with Graph's parameter error.
  { platform: 'threads', endpoint: 'refresh', method: 'GET', host: 'graph.threads.net', path: '/refresh_access_token', run(m, c) {
    const g = m.tokens.get(c.query.access_token);
    if (c.query.grant_type !== 'th_refresh_token' || !g || g.platform !== 'threads' || g.kind !== 'access' || g.revoked) {
      return json(400, { error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } });
    }
    if (tooYoung(g)) return tooYoungError();
    return json(200, { access_token: m.issue(g, 'THlong_'), token_type: 'bearer', expires_in: 5183944 });
  } },
  { platform: 'threads', endpoint: 'identity', method: 'GET', host: 'graph.threads.net', path: '/v1.0/me', run(m, c) {
    const g = m.bearer('threads', c);
    if (!g || g.revoked) return json(400, { error: { message: 'Invalid OAuth access token', code: 190 } });
    return json(200, { id: `th${g.user}`, username: `th_${g.user}`, name: `TH ${g.user}`, threads_profile_picture_url: `https://cdn.threads.test/${g.user}.jpg` });
  } },

  // LinkedIn
  { platform: 'linkedin', endpoint: 'token', method: 'POST', host: 'www.linkedin.com', path: '/oauth/v2/accessToken', run(m, c) {
    if (c.headers.authorization) return oauthError(401, 'invalid_client', 'Client authentication failed: use client_id and client_secret in the body');
    if (!bodyOk(m, 'linkedin', c)) return oauthError(401, 'invalid_client', 'Client authentication failed');
    const g = m.redeem('linkedin', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    return json(200, { access_token: m.issue(g, 'AQV_'), expires_in: 5184000, scope: g.scopes.join(',') });
  } },
  { platform: 'linkedin', endpoint: 'identity', method: 'GET', host: 'api.linkedin.com', path: '/v2/userinfo', run(m, c) {
    const g = m.bearer('linkedin', c);
    if (!g) return json(401, { serviceErrorCode: 65600, code: 'INVALID_ACCESS_TOKEN', message: 'Invalid access token' });
    return json(200, { sub: `li_${g.user}`, name: `LI ${g.user}`, given_name: 'LI', family_name: g.user, picture: `https://media.linkedin.test/${g.user}.jpg`, email_verified: true });
  } },
  // The member's roles on organizations: every role and state, whatever the query filters ask
  // (the worker keeps approved administrators itself).
  { platform: 'linkedin', endpoint: 'organization_acls', method: 'GET', host: 'api.linkedin.com', path: '/rest/organizationAcls', run(m, c) {
    const [g, refused] = linkedinRest(m, c);
    if (!g) return refused;
    if (c.query.q !== 'roleAssignee') return linkedinError(400, 'ILLEGAL_ARGUMENT', 'Invalid query parameters passed to request: q must name a finder');
    const all = m.organizationsOf(g.user).map((o) => ({
      roleAssignee: `urn:li:person:li_${g.user}`, state: o.state ?? 'APPROVED', role: o.role ?? 'ADMINISTRATOR', organization: `urn:li:organization:${o.id}`,
    }));
    // LinkedIn pages finders with start/count (10 by default); this mock never gives more than
    // 10 a page, whatever is asked, so a member with more organizations takes several calls.
    const start = Number(c.query.start ?? 0);
    const count = Math.min(Number(c.query.count ?? 10), 10);
    if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 1) return linkedinError(400, 'ILLEGAL_ARGUMENT', 'Invalid paging parameters');
    // Test hooks: `aclNoTotal` leaves `paging.total` out (as some answers do); `aclCutAt`
    // answers an empty page from that start on while the total still promises more.
    const elements = m.aclCutAt !== undefined && start >= m.aclCutAt ? [] : all.slice(start, start + count);
    const paging = { start, count, links: [] };
    if (!m.aclNoTotal) paging.total = all.length;
    return json(200, { paging, elements });
  } },
  // Batch get of administered organizations: `?ids=List(1,2)` (Rest.li 2.0), answered per id.
  { platform: 'linkedin', endpoint: 'organizations', method: 'GET', host: 'api.linkedin.com', path: '/rest/organizations', run(m, c) {
    const [g, refused] = linkedinRest(m, c);
    if (!g) return refused;
    const ids = /^List\((\d+(?:,\d+)*)\)$/.exec(c.query.ids ?? '');
    if (!ids) return linkedinError(400, 'ILLEGAL_ARGUMENT', 'Invalid query parameters passed to request');
    const results = {}, statuses = {}, errors = {};
    for (const id of ids[1].split(',')) {
      const o = m.organizationsOf(g.user).find((x) => String(x.id) === id);
      if (!o) {
        statuses[id] = 404;
        errors[id] = { status: 404, code: 'NOT_FOUND', message: 'Not Found' };
      } else if (o.role !== 'ADMINISTRATOR' || o.state !== 'APPROVED') {
        statuses[id] = 403;
        errors[id] = { status: 403, code: 'ACCESS_DENIED', message: 'Not enough permissions to access: organizations.BATCH_GET' };
      } else {
        statuses[id] = 200;
        results[id] = {
          id: Number(id), localizedName: o.name, vanityName: o.vanity, primaryOrganizationType: 'NONE', locations: [],
          name: { localized: { en_US: o.name }, preferredLocale: { country: 'US', language: 'en' } },
        };
      }
    }
    return json(200, { results, statuses, errors });
  } },

  // X
  { platform: 'x', endpoint: 'token', method: 'POST', host: 'api.x.com', path: '/2/oauth2/token', run(m, c) {
    if (!basicOk(m, 'x', c)) return oauthError(401, 'unauthorized_client', 'Missing valid authorization header');
    if (c.form.client_secret) return oauthError(400, 'invalid_request', 'client_secret must not be in the body');
    if (c.form.grant_type === 'refresh_token') {
      const g = m.useRefresh('x', c.form.refresh_token, { rotate: true, clientId: c.clientId });
      // X's dialect for a spent, revoked or unknown refresh token: invalid_request, not invalid_grant.
      if (!g) return oauthError(400, 'invalid_request', 'Value passed for the token was invalid.');
      return json(200, { token_type: 'bearer', expires_in: m.refreshTtl ?? 7200, access_token: m.issue(g, 'xat_'), scope: g.scopes.join(' '), refresh_token: m.issue(g, 'xrt_', 'refresh') });
    }
    if (!c.form.code_verifier) return oauthError(400, 'invalid_request', 'Missing required parameter [code_verifier].');
    const g = m.redeem('x', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    const out = { token_type: 'bearer', expires_in: 7200, access_token: m.issue(g, 'xat_'), scope: g.scopes.join(' ') };
    if (g.scopes.includes('offline.access')) out.refresh_token = m.issue(g, 'xrt_', 'refresh');
    return json(200, out);
  } },
  { platform: 'x', endpoint: 'identity', method: 'GET', host: 'api.x.com', path: '/2/users/me', run(m, c) {
    const g = m.bearer('x', c);
    if (!g) return json(401, { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' });
    if (c.query['user.fields'] !== 'profile_image_url') return json(400, { title: 'Invalid Request' });
    return json(200, { data: { id: `22${g.user.length}${g.user}`, name: `X ${g.user}`, username: `x_${g.user}`, profile_image_url: `https://pbs.x.test/${g.user}.jpg` } });
  } },
  { platform: 'x', endpoint: 'revoke', method: 'POST', host: 'api.x.com', path: '/2/oauth2/revoke', run(m, c) {
    if (!basicOk(m, 'x', c)) return oauthError(401, 'unauthorized_client', 'Missing valid authorization header');
    const g = m.tokens.get(c.form.token);
    // A token issued to another client is, to this one, unknown: answered alike, not revoked.
    if (g && g.clientId === c.clientId) g.revoked = true;
    return json(200, { revoked: true });
  } },

  // YouTube (Google)
  { platform: 'youtube', endpoint: 'token', method: 'POST', host: 'oauth2.googleapis.com', path: '/token', run(m, c) {
    if (!bodyOk(m, 'youtube', c)) return oauthError(401, 'invalid_client', 'The OAuth client was not found.');
    if (c.form.grant_type === 'refresh_token') {
      const g = m.useRefresh('youtube', c.form.refresh_token, { rotate: false, clientId: c.clientId });
      if (!g) return oauthError(400, 'invalid_grant', 'Token has been expired or revoked.');
      return json(200, { access_token: m.issue(g, 'ya29.'), expires_in: 3599, scope: g.scopes.join(' '), token_type: 'Bearer' });
    }
    const g = m.redeem('youtube', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    return json(200, { access_token: m.issue(g, 'ya29.'), expires_in: 3599, refresh_token: m.issue(g, '1//rt', 'refresh'), scope: g.scopes.join(' '), token_type: 'Bearer' });
  } },
  { platform: 'youtube', endpoint: 'identity', method: 'GET', host: 'www.googleapis.com', path: '/youtube/v3/channels', run(m, c) {
    const g = m.bearer('youtube', c);
    if (!g) return json(401, { error: { code: 401, message: 'Request had invalid authentication credentials.', status: 'UNAUTHENTICATED' } });
    if (c.query.mine !== 'true' || c.query.part !== 'snippet') return json(400, { error: { code: 400 } });
    return json(200, { kind: 'youtube#channelListResponse', items: [{ id: `UC${g.user}`, snippet: { title: `YT ${g.user}`, customUrl: `@yt_${g.user}`, thumbnails: { default: { url: `https://yt3.test/${g.user}.jpg` } } } }] });
  } },

  // TikTok
  { platform: 'tiktok', endpoint: 'token', method: 'POST', host: 'open.tiktokapis.com', path: '/v2/oauth/token/', run(m, c) {
    if (c.headers['content-type'] !== 'application/x-www-form-urlencoded') return oauthError(400, 'invalid_request', 'Content-Type must be application/x-www-form-urlencoded');
    if (c.form.client_id || !c.form.client_key) return oauthError(400, 'invalid_request', 'client_key is required');
    if (!bodyOk(m, 'tiktok', c, 'client_key')) return oauthError(401, 'invalid_client', 'Client key or secret is incorrect.');
    if (c.form.grant_type === 'refresh_token') {
      // Rotating: the refresh token sent stops working once a new one is issued
      // (https://developers.tiktok.com/docs/en/oauth-refresh-a-user-access-token).
      const g = m.useRefresh('tiktok', c.form.refresh_token, { rotate: true, clientId: c.clientId });
      if (!g) return json(400, { error: 'invalid_grant', error_description: 'Refresh token is invalid or expired.', log_id: 'mock' });
      return json(200, { access_token: m.issue(g, 'act.'), expires_in: 86400, open_id: `oid_${g.user}`, refresh_expires_in: 31536000, refresh_token: m.issue(g, 'rft.', 'refresh'), scope: g.scopes.join(','), token_type: 'Bearer' });
    }
    const g = m.redeem('tiktok', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    return json(200, { access_token: m.issue(g, 'act.'), expires_in: 86400, open_id: `oid_${g.user}`, refresh_expires_in: 31536000, refresh_token: m.issue(g, 'rft.', 'refresh'), scope: g.scopes.join(','), token_type: 'Bearer' });
  } },
  { platform: 'tiktok', endpoint: 'identity', method: 'GET', host: 'open.tiktokapis.com', path: '/v2/user/info/', run(m, c) {
    const g = m.bearer('tiktok', c);
    if (!g || g.revoked) return json(401, { error: { code: 'access_token_invalid', message: 'The access token is invalid or not found in the request.', log_id: 'x' } });
    return json(200, { data: { user: { open_id: `oid_${g.user}`, union_id: `uid_${g.user}`, avatar_url: `https://p16.tiktok.test/${g.user}.jpg`, display_name: `TT ${g.user}`, username: `tt_${g.user}` } }, error: { code: 'ok', message: '', log_id: 'y' } });
  } },

  { platform: 'tiktok', endpoint: 'revoke', method: 'POST', host: 'open.tiktokapis.com', path: '/v2/oauth/revoke/', run(m, c) {
    if (!bodyOk(m, 'tiktok', c, 'client_key')) return oauthError(401, 'invalid_client', 'Client key or secret is incorrect.');
    const g = m.tokens.get(c.form.token);
    // A token issued to another client is, to this one, unknown.
    if (!g || g.kind !== 'access' || g.clientId !== c.clientId) return oauthError(400, 'invalid_request', 'token must be a user access token');
    // Account-wide, as on TikTok: it "disconnects your app from the user's TikTok account", so
    // every token of that user for this client ends, whichever connect produced it.
    for (const t of m.tokens.values()) if (t.platform === 'tiktok' && t.user === g.user && t.clientId === g.clientId) t.revoked = true;
    return json(200, {});
  } },

  // Pinterest
  { platform: 'pinterest', endpoint: 'token', method: 'POST', host: 'api.pinterest.com', path: '/v5/oauth/token', run(m, c) {
    if (!basicOk(m, 'pinterest', c)) return json(401, { code: 2, message: 'Authentication failed.' });
    if (c.form.grant_type === 'refresh_token') {
      // Continuous refresh (the only kind since 2025-05-14): each refresh answers a new refresh
      // token; the one sent is spent.
      const g = m.useRefresh('pinterest', c.form.refresh_token, { rotate: true, clientId: c.clientId });
      if (!g) return json(400, { code: 1, message: 'Invalid refresh token.' });
      return json(200, { access_token: m.issue(g, 'pina_'), refresh_token: m.issue(g, 'pinr_', 'refresh'), response_type: 'refresh_token', token_type: 'bearer', expires_in: 2592000, refresh_token_expires_in: 5184000, scope: g.scopes.join(',') });
    }
    const g = m.redeem('pinterest', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return json(400, { code: 1, message: g });
    return json(200, { access_token: m.issue(g, 'pina_'), refresh_token: m.issue(g, 'pinr_', 'refresh'), response_type: 'authorization_code', token_type: 'bearer', expires_in: 2592000, refresh_token_expires_in: 31536000, scope: g.scopes.join(',') });
  } },
  { platform: 'pinterest', endpoint: 'identity', method: 'GET', host: 'api.pinterest.com', path: '/v5/user_account', run(m, c) {
    const g = m.bearer('pinterest', c);
    if (!g || g.revoked) return json(401, { code: 2, message: 'Authentication failed.' });
    return json(200, { account_type: 'BUSINESS', id: `pin${g.user}`, username: `pin_${g.user}`, business_name: `PIN ${g.user}`, profile_image: `https://i.pinimg.test/${g.user}.jpg` });
  } },

  // Reddit
  { platform: 'reddit', endpoint: 'token', method: 'POST', host: 'www.reddit.com', path: '/api/v1/access_token', run(m, c) {
    if (!/^web:connect-links:/.test(c.headers['user-agent'] || '')) return json(429, { message: 'Too Many Requests', error: 429 });
    if (!basicOk(m, 'reddit', c)) return json(401, { message: 'Unauthorized', error: 401 });
    if (c.form.grant_type === 'refresh_token') {
      // Not rotated: a `duration=permanent` refresh token lasts until revoked, and the
      // answer carries none.
      const g = m.useRefresh('reddit', c.form.refresh_token, { rotate: false, clientId: c.clientId });
      if (!g) return json(200, { error: 'invalid_grant' });
      return json(200, { access_token: m.issue(g, 'eyJhbGci_'), token_type: 'bearer', expires_in: 86400, scope: g.scopes.join(' ') });
    }
    const g = m.redeem('reddit', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return json(200, { error: 'invalid_grant' }); // Reddit answers some errors with 200
    return json(200, { access_token: m.issue(g, 'eyJhbGci_'), token_type: 'bearer', expires_in: 86400, refresh_token: m.issue(g, 'rdrt_', 'refresh'), scope: g.scopes.join(' ') });
  } },
  { platform: 'reddit', endpoint: 'identity', method: 'GET', host: 'oauth.reddit.com', path: '/api/v1/me', run(m, c) {
    if (!/^web:connect-links:/.test(c.headers['user-agent'] || '')) return json(429, { message: 'Too Many Requests', error: 429 });
    const g = m.bearer('reddit', c);
    if (!g || g.revoked) return json(401, { message: 'Unauthorized', error: 401 });
    return json(200, { id: `t2_${g.user}`, name: `rd_${g.user}`, icon_img: `https://styles.redditmedia.test/${g.user}.png`, subreddit: { title: `RD ${g.user}` } });
  } },

  // Custom providers defined only through CUSTOM_PROVIDERS.
  { platform: 'acme', endpoint: 'token', method: 'POST', host: 'id.acme.test', path: '/token', run(m, c) {
    if (!basicOk(m, 'acme', c) || c.form.client_secret) return oauthError(401, 'invalid_client', 'HTTP Basic required');
    if (c.form.grant_type === 'refresh_token') {
      // RFC 6749 section 6 at the same token_url, the client authenticated as for the code;
      // rotated as OAuth 2.1 servers do (the refresh token sent is spent).
      const g = m.useRefresh('acme', c.form.refresh_token, { rotate: true, clientId: c.clientId });
      if (!g) return oauthError(400, 'invalid_grant', 'refresh token is invalid, expired, revoked or issued to another client');
      return json(200, { access_token: m.issue(g, 'acme_at_'), token_type: 'Bearer', expires_in: 3600, refresh_token: m.issue(g, 'acme_rt_', 'refresh'), scope: g.scopes.join(' ') });
    }
    if (c.form.grant_type !== 'authorization_code') return oauthError(400, 'unsupported_grant_type', `grant_type ${c.form.grant_type}`);
    const g = m.redeem('acme', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    return json(200, { access_token: m.issue(g, 'acme_at_'), token_type: 'Bearer', expires_in: 3600, refresh_token: m.issue(g, 'acme_rt_', 'refresh'), scope: g.scopes.join(' ') });
  } },
  // RFC 7009 token revocation (revoke_url), the client authenticated as at token_url. A token
  // unknown to the server, or issued to another client, is answered 200 and left alone (RFC
  // 7009 section 2.2). Revoking a token ends the whole grant of that user for this client
  // (as Keycloak's offline sessions do: what the worker assumes of an unknown server).
  { platform: 'acme', endpoint: 'revoke', method: 'POST', host: 'id.acme.test', path: '/revoke', run(m, c) {
    if (!basicOk(m, 'acme', c) || c.form.client_secret) return oauthError(401, 'invalid_client', 'HTTP Basic required');
    if (!c.form.token) return oauthError(400, 'invalid_request', 'token is required');
    const g = m.tokens.get(c.form.token);
    if (g && g.platform === 'acme' && g.clientId === c.clientId) {
      for (const t of m.tokens.values()) if (t.platform === 'acme' && t.user === g.user && t.clientId === g.clientId) t.revoked = true;
    }
    return new Response(null, { status: 200 });
  } },
  { platform: 'acme', endpoint: 'identity', method: 'GET', host: 'api.acme.test', path: '/userinfo', run(m, c) {
    const g = m.bearer('acme', c);
    return g && !g.revoked ? json(200, { sub: `acme|${g.user}`, preferred_username: `acme_${g.user}`, name: `Acme ${g.user}`, picture: `https://acme.test/${g.user}.png` }) : json(401, { error: 'invalid_token' });
  } },
  { platform: 'globex', endpoint: 'token', method: 'POST', host: 'login.globex.test', path: '/oauth/token', run(m, c) {
    if (c.headers.authorization || !bodyOk(m, 'globex', c)) return oauthError(401, 'invalid_client', 'credentials go in the body');
    const g = m.redeem('globex', c.form.code, c.form.redirect_uri, c.form.code_verifier, c.clientId);
    if (typeof g === 'string') return redeemError(g);
    return json(200, { access_token: m.issue(g, 'glx_'), token_type: 'bearer', expires_in: '7200', scope: g.scopes.join(',') });
  } },
  { platform: 'globex', endpoint: 'identity', method: 'GET', host: 'api.globex.test', path: '/v1/me', run(m, c) {
    const g = m.bearer('globex', c);
    return g ? json(200, { data: { id: 4242, login: `glx_${g.user}`, full_name: `Globex ${g.user}` } }) : json(401, { error: 'invalid_token' });
  } },

  // Google's WebSub hub (https://pubsubhubbub.appspot.com/subscribe; WebSub section 5.1,
  // https://www.w3.org/TR/websub/): a form POST with hub.callback, hub.mode (subscribe or
  // unsubscribe) and hub.topic required, hub.secret under 200 bytes; "MUST respond to a
  // subscription request with an HTTP 202 Accepted", then verifies later (see hubVerify).
  { platform: 'youtube', endpoint: 'hub', method: 'POST', host: 'pubsubhubbub.appspot.com', path: '/subscribe', run(m, c) {
    const text = (status, body) => new Response(body, { status, headers: { 'content-type': 'text/plain' } });
    if (!/^application\/x-www-form-urlencoded/.test(c.headers['content-type'] || '')) return text(400, 'Invalid request: not a form');
    const f = c.form;
    if (!f['hub.callback'] || !/^https?:\/\//.test(f['hub.callback'])) return text(400, 'Invalid parameter: hub.callback');
    if (!['subscribe', 'unsubscribe'].includes(f['hub.mode'])) return text(400, 'Invalid parameter: hub.mode');
    if (!f['hub.topic']) return text(400, 'Invalid parameter: hub.topic');
    if (f['hub.secret'] !== undefined && Buffer.byteLength(f['hub.secret']) >= 200) return text(400, 'Invalid parameter: hub.secret');
    return text(202, '');
  } },

  // API-key providers (`"kind": "api_key"`): one takes the key in a header of its own, the
  // other in the query. Both answer 401 to a missing or unknown key, as such services do.
  { platform: 'keyed', endpoint: 'identity', method: 'GET', host: 'api.keyed.test', path: '/v1/me', run(m, c) {
    if (c.headers.authorization) return json(400, { error: 'use the X-Api-Key header' });
    const user = m.apiKeys.get(c.headers['x-api-key']);
    return user ? json(200, { data: { id: `kd-${user}`, handle: `keyed_${user}`, full_name: `Keyed ${user}` } }) : json(401, { error: 'invalid_api_key' });
  } },
  { platform: 'keyed', endpoint: 'api', method: 'GET', host: 'api.keyed.test', path: '/v1/things', run(m, c) {
    const user = m.apiKeys.get(c.headers['x-api-key']);
    return user ? json(200, { things: [], user, headers: Object.keys(c.headers) }) : json(401, { error: 'invalid_api_key' });
  } },
  { platform: 'querykey', endpoint: 'identity', method: 'GET', host: 'api.querykey.test', path: '/me', run(m, c) {
    const user = m.apiKeys.get(c.query.api_key);
    return user ? json(200, { id: `qk-${user}`, username: `qk_${user}` }) : json(401, { message: 'Invalid API key' });
  } },
];

/** CUSTOM_PROVIDERS for the tests: one Basic+PKCE provider with refresh and RFC 7009 revocation, one body-auth provider without PKCE. */
export const CUSTOM_PROVIDERS = {
  acme: {
    name: 'Acme ID', authorize_url: 'https://id.acme.test/authorize', token_url: 'https://id.acme.test/token',
    revoke_url: 'https://id.acme.test/revoke', userinfo_url: 'https://api.acme.test/userinfo', scopes: ['openid', 'profile', 'offline_access'],
  },
  globex: {
    name: 'Globex', authorize_url: 'https://login.globex.test/oauth/authorize', token_url: 'https://login.globex.test/oauth/token',
    userinfo_url: 'https://api.globex.test/v1/me', scopes: ['read', 'write'], scope_separator: ',', pkce: false,
    client_auth: 'body', user_id_field: 'data.id', username_field: 'data.login', display_name_field: 'data.full_name',
    authorize_params: { audience: 'globex-api' },
  },
  keyed: {
    kind: 'api_key', name: 'Keyed', userinfo_url: 'https://api.keyed.test/v1/me', api_base_url: 'https://api.keyed.test',
    key_name: 'X-Api-Key', user_id_field: 'data.id', username_field: 'data.handle', display_name_field: 'data.full_name',
  },
  querykey: {
    kind: 'api_key', name: 'Query Key', userinfo_url: 'https://api.querykey.test/me', key_in: 'query', key_name: 'api_key',
  },
};
