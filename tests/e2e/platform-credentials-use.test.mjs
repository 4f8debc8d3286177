// Every later use of a grant goes through the platform app that minted it: an app that
// brings its own client refreshes and revokes its grants with that client (never the
// deployment's, not even when its own are gone), a new secret for the same client id
// applies to the grants it minted, a new client id leaves them on the old one, and the
// proxy's app-scoped budgets belong to that platform app: an app's own quota is neither the
// deployment's nor another app's, and what Meta reports of an app's own Facebook app (its app
// usage, an account's throttle) stays with that platform app; a 401 through the proxy
// refreshes with the app's client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { recordAnswers, recordingFetch, assertNoSecretsAnywhere } from './secret-scan.mjs';

const REDIRECT = 'https://app.example.com/connected';
const mocks = new PlatformMocks();
let w;
let answers; // every answer of this file, scanned by the last test
let fetchRecorded; // fetch for proxied calls, their answers recorded in `answers`
let graphHeaders = null; // when set, the next Graph feed answer carries these headers (then cleared)
const clients = []; // every app's own client ({ id, secret }) the file stores

const basic = (id, secret) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

before(async () => {
  w = await startWorker({ vars: credentialVars(['x', 'youtube', 'tiktok', 'facebook']), outbound: mocks.handle, captureLogs: true });
  answers = recordAnswers(w);
  fetchRecorded = recordingFetch(answers);
  // YouTube's search and a Page's Graph feed answer any live token of their own; the budget
  // refusals are the worker's.
  mocks.api = async (request, url) => {
    const feed = /^\/v25\.0\/(\d+)\/feed$/.exec(url.pathname);
    if (url.hostname === 'graph.facebook.com' && feed) {
      const token = mocks.tokens.get(/^Bearer (.+)$/.exec(request.headers.get('authorization') || '')?.[1] ?? url.searchParams.get('access_token'));
      if (!token || token.revoked || token.kind !== 'page' || token.pageId !== feed[1]) {
        return new Response(JSON.stringify({ error: { message: 'Invalid OAuth access token', type: 'OAuthException', code: 190 } }), { status: 400, headers: { 'content-type': 'application/json' } });
      }
      const headers = { 'content-type': 'application/json', ...(graphHeaders ?? {}) };
      graphHeaders = null;
      return new Response('{"data":[]}', { status: 200, headers });
    }
    if (url.hostname !== 'www.googleapis.com' || url.pathname !== '/youtube/v3/search') return undefined;
    const auth = /^Bearer (.+)$/.exec(request.headers.get('authorization') || '');
    const token = auth && mocks.tokens.get(auth[1]);
    if (!token || token.revoked || token.platform !== 'youtube' || token.kind !== 'access') {
      return new Response(JSON.stringify({ error: { code: 401, status: 'UNAUTHENTICATED' } }), { status: 401, headers: { 'content-type': 'application/json' } });
    }
    return new Response(JSON.stringify({ items: [] }), { status: 200, headers: { 'content-type': 'application/json' } });
  };
});
after(async () => { await w?.stop(); });

async function app(name) {
  const made = await w.admin('POST', '/v1/admin/apps', { name, allowed_redirect_urls: [REDIRECT] });
  assert.equal(made.status, 201);
  return { id: made.body.app.id, key: made.body.api_key };
}

/** Registers `a`'s own client at the platform (the mock) and stores it with the worker. */
async function ownClient(a, platform, id, secret) {
  clients.push({ id, secret });
  mocks.allowClient(platform, id, secret);
  const r = await w.admin('PUT', `/v1/admin/apps/${a.id}/platforms/${platform}`, { client_id: id, client_secret: secret });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function connect(a, platform, user) {
  const { q } = await w.connectWithMock(mocks, a.key, platform, { user, redirect: REDIRECT });
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

/** Forces a refresh of `profile` and returns the answer with the token calls it made. */
async function refresh(a, profile) {
  const from = mocks.calls.length;
  const r = await w.call('POST', `/v1/profiles/${profile}/refresh`, { token: a.key });
  const calls = mocks.calls.slice(from).filter((c) => c.host === 'api.x.com' && c.path === '/2/oauth2/token');
  return { status: r.status, body: r.body, calls };
}

test("a grant minted with an app's own client refreshes and is revoked with that client, another app's with the deployment's", async () => {
  const own = await app('Own X');
  await ownClient(own, 'x', 'own-x-client', 'own-x-secret');
  const shared = await app('Shared X');
  const mine = await connect(own, 'x', 'x-own');
  const theirs = await connect(shared, 'x', 'x-shared');
  assert.match((await w.grantRow(mine, 'credential_ref')).credential_ref, /^pcr_/);
  assert.equal((await w.grantRow(theirs, 'credential_ref')).credential_ref, null);

  const r1 = await refresh(own, mine);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.deepEqual(r1.calls.map((c) => [c.clientId, c.headers.authorization, c.status]), [['own-x-client', basic('own-x-client', 'own-x-secret'), 200]], 'its own secret');
  const r2 = await refresh(shared, theirs);
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.deepEqual(r2.calls.map((c) => [c.clientId, c.status]), [[credsFor('x').id, 200]], "the other app's grant: the deployment's client");

  const { access, refresh: rt } = await w.tokensOf(mine);
  const from = mocks.calls.length;
  const del = await w.call('DELETE', `/v1/profiles/${mine}`, { token: own.key });
  assert.equal(del.status, 204);
  const revokes = mocks.calls.slice(from).filter((c) => c.path === '/2/oauth2/revoke');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.headers.authorization, c.status]), [['own-x-client', basic('own-x-client', 'own-x-secret'), 200]], 'revoked at X');
  assert.ok([access, rt].includes(revokes[0].form.token));
  assert.equal(mocks.tokens.get(revokes[0].form.token).revoked, true, 'the platform took the revocation');
});

test("an own client's grant is revoked with that client even while another app holds the same login through the deployment's", async () => {
  // TikTok's revoke ends every token of the user for the client that calls it: the
  // deployment's grant of the same login is another client's, which this revoke cannot end.
  const own = await app('Own TikTok');
  await ownClient(own, 'tiktok', 'own-tt-key', 'own-tt-secret');
  const shared = await app('Shared TikTok');
  const mine = await connect(own, 'tiktok', 'tt-both');
  const theirs = await connect(shared, 'tiktok', 'tt-both');
  const minesTokens = await w.tokensOf(mine);
  const theirsTokens = await w.tokensOf(theirs);
  const from = mocks.calls.length;
  const del = await w.call('DELETE', `/v1/profiles/${mine}`, { token: own.key });
  assert.equal(del.status, 204);
  await w.settled();
  const revokes = mocks.calls.slice(from).filter((c) => c.host === 'open.tiktokapis.com' && c.path === '/v2/oauth/revoke/');
  assert.deepEqual(revokes.map((c) => [c.clientId, c.form.token]), [['own-tt-key', minesTokens.access]], "revoked once, with the app's own client");
  assert.equal(mocks.tokens.get(minesTokens.access).revoked, true, 'the platform took the revocation');
  assert.equal(mocks.tokens.get(theirsTokens.access).revoked, false, "the other app's grant through the deployment's client lives on");
  const r = await w.call('GET', `/v1/profiles/${theirs}`, { token: shared.key });
  assert.equal(r.body.status, 'active');
});

test('a new secret for the same client id keeps its grants refreshing; the old secret is refused', async () => {
  const a = await app('Rotating X');
  const first = await ownClient(a, 'x', 'rot-x-client', 'rot-secret-1');
  const profile = await connect(a, 'x', 'x-rot');
  // The platform app's secret is rotated at X: the old one no longer works there.
  mocks.allowClient('x', 'rot-x-client', 'rot-secret-2');
  const second = await ownClient(a, 'x', 'rot-x-client', 'rot-secret-2');
  assert.notEqual(second.fingerprint, first.fingerprint);
  const r = await refresh(a, profile);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.calls.map((c) => [c.headers.authorization, c.status]), [[basic('rot-x-client', 'rot-secret-2'), 200]], 'the new secret');
  // What the worker would have sent with the old one is refused by the platform.
  const { refresh: rt } = await w.tokensOf(profile);
  const old = await mocks.handle(new Request('https://api.x.com/2/oauth2/token', {
    method: 'POST',
    headers: { authorization: basic('rot-x-client', 'rot-secret-1'), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt }),
  }));
  assert.equal(old.status, 401);
  const again = await refresh(a, profile);
  assert.equal(again.status, 200, 'the refresh token the probe did not spend still works with the new secret');
  assert.deepEqual(again.calls.map((c) => [c.form.refresh_token, c.status]), [[rt, 200]]);
});

test('a new client id leaves the grants of the old one refreshing with the old one; new connects use the new', async () => {
  const a = await app('Moving X');
  await ownClient(a, 'x', 'old-x-client', 'old-secret');
  const before = await connect(a, 'x', 'x-before');
  await ownClient(a, 'x', 'new-x-client', 'new-secret');
  const after = await connect(a, 'x', 'x-after');
  assert.equal(mocks.authorizations.at(-1).clientId, 'new-x-client');
  const r1 = await refresh(a, before);
  assert.equal(r1.status, 200, JSON.stringify(r1.body));
  assert.deepEqual(r1.calls.map((c) => [c.headers.authorization, c.status]), [[basic('old-x-client', 'old-secret'), 200]]);
  const r2 = await refresh(a, after);
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  assert.deepEqual(r2.calls.map((c) => [c.headers.authorization, c.status]), [[basic('new-x-client', 'new-secret'), 200]]);
});

test("a grant whose own credentials are gone is not refreshed with the deployment's client", async () => {
  const a = await app('Lost X');
  await ownClient(a, 'x', 'lost-x-client', 'lost-secret');
  const profile = await connect(a, 'x', 'x-lost');
  // As if its credentials row went under it (a race with their removal).
  await w.sql('UPDATE grants SET credential_ref = ? WHERE id = ?', 'pcr_gone', await w.grantOf(profile));
  const r = await refresh(a, profile);
  assert.equal(r.status, 500, JSON.stringify(r.body));
  assert.equal(r.calls.length, 0, 'no token call with any other client');
  assert.equal((await w.grantRow(profile, 'status')).status, 'active', 'a local failure disconnects nobody');
  const { refresh: rt } = await w.tokensOf(profile);
  assert.equal(mocks.tokens.get(rt).revoked, false);
});

test("an app's own platform app has its own budgets: spending them stops neither another app's own nor the deployment's", async () => {
  const search = (a, profile = a.profile) => fetchRecorded(`${w.base}/v1/profiles/${profile}/proxy/youtube/v3/search?part=snippet&q=x`, { headers: { authorization: `Bearer ${a.key}` } });
  const greedy = await app('Own YouTube A');
  await ownClient(greedy, 'youtube', 'yt-a-client', 'yt-a-secret');
  greedy.profile = await connect(greedy, 'youtube', 'yt-a');
  const other = await app('Own YouTube B');
  await ownClient(other, 'youtube', 'yt-b-client', 'yt-b-secret');
  other.profile = await connect(other, 'youtube', 'yt-b');
  const shared = await app('Shared YouTube');
  shared.profile = await connect(shared, 'youtube', 'yt-shared');
  // Alone on its platform app, A may spend all 100 daily search units of it.
  let allowed = 0;
  let refusal;
  for (let i = 0; i < 110 && !refusal; i++) {
    const r = await search(greedy);
    if (r.status === 429) refusal = await r.json();
    else {
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      allowed += 1;
    }
  }
  assert.equal(allowed, 100, 'all of its own platform app\'s units');
  assert.equal(refusal?.error.code, 'rate_limited');
  for (const a of [other, shared]) {
    const r = await search(a);
    assert.equal(r.status, 200, 'another platform app\'s budget is untouched');
    assert.equal(r.headers.get('x-connect-links-attempts'), '1');
    await r.arrayBuffer();
  }
  // One budget per platform app, not per grant or account: another account connected through
  // the same client is refused from its first call.
  const second = await connect(greedy, 'youtube', 'yt-a2');
  const r2 = await search(greedy, second);
  assert.equal(r2.status, 429, 'the same platform app\'s budget is spent');
  assert.deepEqual([(await r2.json()).error.code, r2.headers.get('x-connect-links-attempts')], ['rate_limited', '0']);
  // A new client id is another platform app, with budgets of its own: its grant goes through
  // while the old client's stays refused.
  await ownClient(greedy, 'youtube', 'yt-a-client-2', 'yt-a-secret-2');
  const third = await connect(greedy, 'youtube', 'yt-a3');
  const r3 = await search(greedy, third);
  assert.equal(r3.status, 200, 'the new platform app\'s budget');
  await r3.arrayBuffer();
  const r1 = await search(greedy);
  assert.equal(r1.status, 429, 'the old client\'s grant still spends the old budget');
  await r1.arrayBuffer();
});

test("what Meta reports of an app's own Facebook app stays with it: its app usage at 100 % stops its calls, not the deployment's; an account's throttle, not the same account through the deployment's", async () => {
  const feed = (a, p) => fetchRecorded(`${w.base}/v1/profiles/${p.profile}/proxy/v25.0/${p.page}/feed`, { headers: { authorization: `Bearer ${a.key}` } });
  const connectPage = async (a, user, page) => {
    mocks.setPages(user, [{ id: page, name: `Page ${page}` }]);
    return { profile: await connect(a, 'facebook', user), page };
  };
  const own = await app('Own Facebook');
  await ownClient(own, 'facebook', 'own-fb-usage', 'own-fb-usage-secret');
  const shared = await app('Shared Facebook');
  const mine = await connectPage(own, 'fb-usage', '880901');
  const sameLogin = await connectPage(shared, 'fb-usage', '880901');
  const otherLogin = await connectPage(shared, 'fb-other', '880902');
  assert.match((await w.grantRow(mine.profile, 'credential_ref')).credential_ref, /^pcr_/);
  assert.equal((await w.grantRow(sameLogin.profile, 'credential_ref')).credential_ref, null);

  // Meta says the app's own Facebook app is at 100 % of its hourly calls.
  graphHeaders = { 'x-app-usage': JSON.stringify({ call_count: 100, total_cputime: 12, total_time: 12 }) };
  const said = await feed(own, mine);
  assert.equal(said.status, 200, 'the answer that says so comes back');
  await said.arrayBuffer();
  assert.equal(graphHeaders, null, 'Meta answered it');
  const next = await feed(own, mine);
  assert.equal(next.status, 429);
  assert.deepEqual([(await next.json()).error.code, next.headers.get('x-connect-links-attempts')], ['rate_limited', '0']);
  for (const p of [sameLogin, otherLogin]) {
    const r = await feed(shared, p);
    assert.equal(r.status, 200, "the deployment's Facebook app is not blocked");
    await r.arrayBuffer();
  }

  // An account throttled (Business Use Case usage) through another own Facebook app: the
  // same Page through the deployment's app is another account there, and goes on.
  const own2 = await app('Own Facebook 2');
  await ownClient(own2, 'facebook', 'own-fb-acct', 'own-fb-acct-secret');
  const mine2 = await connectPage(own2, 'fb-acct', '880903');
  const theirs2 = await connectPage(shared, 'fb-acct', '880903');
  graphHeaders = { 'x-business-use-case-usage': JSON.stringify({ 880903: [{ type: 'pages', call_count: 100, total_cputime: 1, total_time: 1, estimated_time_to_regain_access: 5 }] }) };
  const throttled = await feed(own2, mine2);
  assert.equal(throttled.status, 200);
  await throttled.arrayBuffer();
  assert.equal(graphHeaders, null, 'Meta answered it');
  const again = await feed(own2, mine2);
  assert.equal(again.status, 429, 'the account is throttled through its own app');
  assert.equal(again.headers.get('x-connect-links-attempts'), '0');
  await again.arrayBuffer();
  const dep = await feed(shared, theirs2);
  assert.equal(dep.status, 200, "the same Page through the deployment's app is not");
  await dep.arrayBuffer();
});

test("a 401 through the proxy refreshes with the app's own client, and the answer is the retried call's", async () => {
  const a = await app('Proxy own X');
  await ownClient(a, 'x', 'proxy-x-client', 'proxy-x-secret');
  const profile = await connect(a, 'x', 'x-proxy');
  const first = (await w.tokensOf(profile)).access;
  assert.equal(mocks.clientOfToken(first), 'proxy-x-client');
  // X drops the access token early (it would otherwise live two hours).
  mocks.tokens.get(first).revoked = true;
  const seen = []; // the proxied calls X received: { bearer, clientId }
  const youtube = mocks.api;
  mocks.api = async (request, url) => {
    if (url.hostname !== 'api.x.com' || url.pathname !== '/2/tweets/search/recent') return youtube(request, url);
    const bearer = /^Bearer (.+)$/.exec(request.headers.get('authorization') || '')?.[1];
    const g = bearer && mocks.tokens.get(bearer);
    seen.push({ bearer, clientId: g?.clientId });
    const body = (status, json) => new Response(JSON.stringify(json), { status, headers: { 'content-type': 'application/json' } });
    if (!g || g.revoked || g.platform !== 'x' || g.kind !== 'access') return body(401, { title: 'Unauthorized', status: 401, call: seen.length });
    return body(200, { data: [{ id: '1', text: 'found' }], meta: { call: seen.length } });
  };
  try {
    const from = mocks.calls.length;
    const res = await fetchRecorded(`${w.base}/v1/profiles/${profile}/proxy/2/tweets/search/recent?query=own`, { headers: { authorization: `Bearer ${a.key}` } });
    const answer = await res.json();
    assert.equal(res.status, 200, JSON.stringify(answer));
    assert.deepEqual(answer, { data: [{ id: '1', text: 'found' }], meta: { call: 2 } }, "the retried call's answer");
    assert.equal(res.headers.get('x-connect-links-attempts'), '2');
    assert.equal(res.headers.get('x-connect-links-refreshed'), 'true');
    const now = (await w.tokensOf(profile)).access;
    assert.notEqual(now, first, 'the new token is stored');
    assert.deepEqual(seen, [{ bearer: first, clientId: 'proxy-x-client' }, { bearer: now, clientId: 'proxy-x-client' }]);
    // Every call at X's OAuth endpoints since: the one refresh, with the app's client and secret.
    const oauth = mocks.calls.slice(from).filter((c) => c.host === 'api.x.com' && c.path.startsWith('/2/oauth2/'));
    assert.deepEqual(oauth.map((c) => [c.endpoint, c.headers.authorization, c.status]), [['refresh', basic('proxy-x-client', 'proxy-x-secret'), 200]]);
  } finally {
    mocks.api = youtube;
  }
});

test('no secret of this file in any answer, log line or D1 table', async () => {
  await assertNoSecretsAnywhere(w, {
    answers,
    answered: [...clients, ...['x', 'youtube', 'tiktok', 'facebook'].map((p) => credsFor(p)), { secret: 'rot-secret-1' }],
    kept: [...mocks.tokens.keys()].map((secret) => ({ secret, what: 'a platform token' })),
  });
});
