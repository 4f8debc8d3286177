// The subscription a Facebook Page makes to its Meta app (Graph's `{page-id}/subscribed_apps`,
// mocked as the reference has it: the Page's own token, `pages_manage_metadata` among the
// login's scopes, each POST replacing the fields of the last): at connect with the fields of
// every app holding the Page under that Meta app, refused without the permission, undone when
// the Page's last profile goes (deleted, or purged unclaimed), and under an app's own Meta app.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';
import { PlatformMocks, credentialVars, credsFor } from './platform-mocks.mjs';
import { metaKit, sign, comment, pageBody, eventsOf, FB_DEFAULT_SCOPES, VERIFY_TOKEN } from './meta-events.mjs';

const mocks = new PlatformMocks();
const kit = metaKit(mocks);
const { newApp, ownClient, connectPages, subscriptionCalls, post } = kit;
let w;

before(async () => {
  w = await startWorker({
    vars: { ...credentialVars(['facebook']), META_WEBHOOK_VERIFY_TOKEN: VERIFY_TOKEN },
    outbound: mocks.handle,
    captureLogs: true,
  });
  kit.w = w;
});
after(async () => {
  await w?.stop();
  for (const r of kit.receivers) await r.stop();
});

const subscribed = (pageId, clientId = credsFor('facebook').id) => mocks.pageSubscriptions.get(`${clientId}:${pageId}`);

/** Waits for a log line of the worker's holding every string of `parts`. */
async function logged(parts, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    const line = w.logs.join('').split('\n').find((l) => parts.every((p) => l.includes(p)));
    if (line) return line;
  }
  throw new Error(`no log line with ${parts.join(', ')}`);
}

test('the Graph mock refuses a subscription without that Page\'s own token or the permission, as Graph does', async () => {
  const app = await newApp('Mock check');
  await connectPages(app, 'mockcheck', [{ id: '4901', name: 'One' }, { id: '4902', name: 'Two' }]);
  const user = [...mocks.tokens].find(([, g]) => g.user === 'mockcheck' && g.kind === 'access')[0];
  const ask = async (pageId, token, method = 'POST', fields = 'feed') => {
    const res = await mocks.answer(new Request(`https://graph.facebook.com/v25.0/${pageId}/subscribed_apps`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' }, body: method === 'POST' ? `subscribed_fields=${fields}` : undefined,
    }));
    return [res.status, (await res.json()).error?.code ?? 'ok'];
  };
  assert.deepEqual(await ask('4901', user), [400, 210], 'a user token');
  assert.deepEqual(await ask('4901', mocks.pageToken('4902')), [403, 200], 'another Page\'s token');
  assert.deepEqual(await ask('4901', 'EAAPage_made_up'), [400, 190], 'an unknown token');
  assert.deepEqual(await ask('4901', mocks.pageToken('4901'), 'POST', 'messages'), [403, 200], 'messages without pages_messaging');
  assert.deepEqual(await ask('4901', mocks.pageToken('4901')), [200, 'ok']);
  assert.deepEqual(await ask('4901', mocks.pageToken('4901'), 'DELETE'), [200, 'ok']);
  // A login with the default scopes only: Graph's missing-permission answer, in its shape. Another
  // person: Meta keeps what a person granted before (the mock's dialog too), so 'mockcheck'
  // logging in again with fewer scopes would still hold pages_manage_metadata.
  await connectPages(app, 'mockcheck_defaults', [{ id: '4903', name: 'Three' }], { scopes: null });
  const res = await mocks.answer(new Request('https://graph.facebook.com/v25.0/4903/subscribed_apps', {
    method: 'POST', headers: { authorization: `Bearer ${mocks.pageToken('4903')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'subscribed_fields=feed',
  }));
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { error: { message: '(#200) Requires pages_manage_metadata permission to manage the object', type: 'OAuthException', code: 200, fbtrace_id: 'mock' } });
  app.receiver.stop();
});

test('a Page subscribes its app to the fields asked for at connect, and unsubscribes when its last profile goes', async () => {
  const asks = await newApp('Asks', { facebook: ['feed', 'mention'] });
  const quiet = await newApp('Asks nothing');
  const [a1, a2] = await connectPages(asks, 'subu', [{ id: '4101', name: 'One' }, { id: '4102', name: 'Two' }]);
  const firstTokens = { 4101: mocks.pageToken('4101'), 4102: mocks.pageToken('4102') };
  for (const page of ['4101', '4102']) {
    const calls = await subscriptionCalls(page, 1);
    assert.deepEqual(calls.map((c) => [c.method, c.headers.authorization, c.form.subscribed_fields, c.status]),
      [['POST', `Bearer ${firstTokens[page]}`, 'feed,mention', 200]], `Page ${page}`);
    assert.deepEqual(subscribed(page), ['feed', 'mention']);
  }
  // An app that asked for nothing connecting the Page again: the Page keeps the other app's fields.
  const [q1] = await connectPages(quiet, 'subu', [{ id: '4101', name: 'One' }]);
  const quietToken = mocks.pageToken('4101');
  assert.deepEqual((await subscriptionCalls('4101', 2)).slice(1).map((c) => [c.method, c.headers.authorization, c.form.subscribed_fields, c.status]),
    [['POST', `Bearer ${quietToken}`, 'feed,mention', 200]]);
  assert.deepEqual(subscribed('4101'), ['feed', 'mention']);

  // Another profile of the Page (another app, same platform app) holds it: no DELETE yet.
  assert.equal((await w.call('DELETE', `/v1/profiles/${a1}`, { token: asks.api_key })).status, 204);
  assert.equal((await subscriptionCalls('4101', 2)).length, 2);
  // The last one goes: DELETE with its own Page token, before that token is gone.
  assert.equal((await w.call('DELETE', `/v1/profiles/${q1}`, { token: quiet.api_key })).status, 204);
  assert.deepEqual((await subscriptionCalls('4101', 3)).slice(2).map((c) => [c.method, c.headers.authorization, c.status]),
    [['DELETE', `Bearer ${quietToken}`, 200]]);
  assert.equal(subscribed('4101'), undefined);
  assert.equal((await w.call('DELETE', `/v1/profiles/${a2}`, { token: asks.api_key })).status, 204);
  assert.deepEqual((await subscriptionCalls('4102', 2)).map((c) => [c.method, c.headers.authorization, c.status]),
    [['POST', `Bearer ${firstTokens[4102]}`, 200], ['DELETE', `Bearer ${firstTokens[4102]}`, 200]]);

  // Nobody holding a Page asked for anything: no call at all.
  await connectPages(quiet, 'subu', [{ id: '4103', name: 'Three' }]);
  const nobody = await subscriptionCalls('4103');
  assert.deepEqual(nobody, []);
  asks.receiver.stop();
  quiet.receiver.stop();
});

test('apps holding one Page get the union of their fields, so one app\'s connect does not cut off another\'s', async () => {
  const feed = await newApp('Union feed', { facebook: ['feed'] });
  const mentions = await newApp('Union mentions', { facebook: ['mention'] });
  const [pf] = await connectPages(feed, 'unu', [{ id: '4501', name: 'Shared' }]);
  assert.deepEqual((await subscriptionCalls('4501', 1)).map((c) => c.form.subscribed_fields), ['feed']);
  await connectPages(mentions, 'unu', [{ id: '4501', name: 'Shared' }]);
  assert.deepEqual((await subscriptionCalls('4501', 2)).map((c) => c.form.subscribed_fields), ['feed', 'feed,mention']);
  assert.deepEqual(subscribed('4501'), ['feed', 'mention'], 'Meta would still send feed changes to the feed app');
  // And they do reach it.
  const body = pageBody('4501', [comment('4501_c1')]);
  assert.equal((await post('/platform-webhooks/meta', body, sign(body, credsFor('facebook').secret))).status, 200);
  const [e] = await eventsOf(feed.receiver, 'platform.event', 1);
  assert.equal(e.data.profile_id, pf);
  // A Page of another Meta app (an app's own) is not part of the deployment's union.
  const own = await newApp('Union own', { facebook: ['messages'] });
  await ownClient(own, 'facebook', { client_id: 'union-fb-app', client_secret: 'union-fb-secret' });
  await connectPages(own, 'unu', [{ id: '4501', name: 'Shared' }], { scopes: [...FB_DEFAULT_SCOPES, 'pages_manage_metadata', 'pages_messaging'] });
  assert.deepEqual((await subscriptionCalls('4501', 3)).slice(2).map((c) => c.form.subscribed_fields), ['messages']);
  assert.deepEqual(subscribed('4501', 'union-fb-app'), ['messages']);
  assert.deepEqual(subscribed('4501'), ['feed', 'mention']);
  for (const app of [feed, mentions, own]) app.receiver.stop();
});

test('a login without pages_manage_metadata: the subscription is refused, logged, and nothing is subscribed', async () => {
  const app = await newApp('No permission', { facebook: ['feed'] });
  const [p] = await connectPages(app, 'noperm', [{ id: '4601', name: 'Unpermitted' }], { scopes: null });
  assert.equal(mocks.authorizations.at(-1).scopes.includes('pages_manage_metadata'), false);
  const calls = await subscriptionCalls('4601', 1);
  assert.deepEqual(calls.map((c) => [c.method, c.status]), [['POST', 403]]);
  assert.equal(subscribed('4601'), undefined);
  const line = await logged(['page_subscribe_failed', p]);
  assert.match(line, /"status":403/);
  assert.doesNotMatch(line, /EAAPage_/, 'no token in the log');
  // The connect itself stands.
  assert.equal((await w.call('GET', `/v1/profiles/${p}`, { token: app.api_key })).status, 200);
  app.receiver.stop();
});

test('a Page connected under an app\'s own Meta app subscribes that app, with that login\'s Page token', async () => {
  const app = await newApp('Own Meta app', { facebook: ['feed'] });
  await ownClient(app, 'facebook', { client_id: 'own-fb-app', client_secret: 'own-fb-secret' });
  const [p] = await connectPages(app, 'ownu', [{ id: '4701', name: 'Own' }]);
  const token = mocks.pageToken('4701');
  assert.equal(mocks.tokens.get(token).clientId, 'own-fb-app');
  assert.deepEqual((await subscriptionCalls('4701', 1)).map((c) => [c.method, c.headers.authorization, c.form.subscribed_fields, c.status]),
    [['POST', `Bearer ${token}`, 'feed', 200]]);
  assert.deepEqual(subscribed('4701', 'own-fb-app'), ['feed']);
  assert.equal(subscribed('4701'), undefined, 'not the deployment\'s Meta app');
  assert.equal((await w.call('DELETE', `/v1/profiles/${p}`, { token: app.api_key })).status, 204);
  assert.deepEqual((await subscriptionCalls('4701', 2)).slice(1).map((c) => [c.method, c.headers.authorization, c.status]), [['DELETE', `Bearer ${token}`, 200]]);
  assert.equal(subscribed('4701', 'own-fb-app'), undefined);
  app.receiver.stop();
});

test('a Page profile purged unclaimed unsubscribes its Page when it was the last', async () => {
  const app = await newApp('Never claims', { facebook: ['feed'] }, null);
  await connectPages(app, 'purgeu', [{ id: '4801', name: 'Purged' }], { claim: false });
  const token = mocks.pageToken('4801');
  const row = await w.row("SELECT id, status FROM profiles WHERE platform = 'facebook' AND platform_user_id = '4801'");
  assert.equal(row.status, 'pending');
  assert.deepEqual((await subscriptionCalls('4801', 1)).map((c) => [c.method, c.status]), [['POST', 200]]);
  // Inside the claim window the cron keeps it; once the window closes it goes, and the Page with it.
  await w.cron();
  assert.equal((await subscriptionCalls('4801', 1)).length, 1);
  await w.sql("UPDATE connect_links SET claim_expires_at = ? WHERE status = 'awaiting_claim' AND app_id = ?", Math.floor(Date.now() / 1000) - 1, app.id);
  await w.cron();
  assert.equal(await w.row('SELECT id FROM profiles WHERE id = ?', row.id), null);
  assert.deepEqual((await subscriptionCalls('4801', 2)).slice(1).map((c) => [c.method, c.headers.authorization, c.status]), [['DELETE', `Bearer ${token}`, 200]]);
  assert.equal(subscribed('4801'), undefined);
  app.receiver.stop();
});
