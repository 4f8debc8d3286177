// A platform host run by an attacker (tests/e2e/mocks-hostile.mjs): nothing it answers can
// crash a connect, a refresh or a cron run, lose a token or disconnect a live profile. Its
// gzip bomb is about 1 MB on the wire with a true Content-Length and inflates to 1 GiB in
// the runtime as it is read; the worker must stop counting at 1 MiB of inflated bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { startWorker } from './harness.mjs';
import { PlatformMocks } from './platform-mocks.mjs';
import { HostileProvider, HOSTILE_ID, gzipBomb, gzipPadded, hostileVars } from './mocks-hostile.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';
import { streamingOutbound, until } from './streams.mjs';

const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);
const provider = new HostileProvider();
// Hosts other than the provider's (the webhook receiver on loopback) pass through.
const others = new PlatformMocks();
const receiver = new WebhookReceiver();
let w;
let app;

before(async () => {
  gzipBomb(); // built once, before any clock a test might watch
  await receiver.start();
  // A node outboundService, so the bomb's bytes and headers reach workerd as sent: workerd
  // inflates `Content-Encoding: gzip` as the worker reads, and Content-Length stays the
  // compressed size.
  const outbound = streamingOutbound(async (request) => (await provider.answer(request)) ?? others.handle(request));
  w = await startWorker({ vars: hostileVars(), outbound, captureLogs: true });
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Hostile platform app', allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  app = r.body;
  receiver.useSecret(app.webhook_secret);
});
after(async () => {
  await w?.stop();
  await receiver.stop();
});

/** A connect through the hosted callback: the final redirect's query, and the link. */
async function connect(user) {
  const link = await w.createLink(app.api_key, { platform: HOSTILE_ID, redirect_url: REDIRECT });
  const { code, state } = provider.approve(link.authorize_url, user);
  const res = await w.callback(`${w.base}/oauth/callback?${new URLSearchParams({ code, state })}`);
  assert.equal(res.status, 302, `the callback answered ${res.status}`);
  return { link, q: Object.fromEntries(new URL(res.headers.get('location')).searchParams) };
}

async function connected(user) {
  const { q } = await connect(user);
  assert.equal(q.connected, 'true', JSON.stringify(q));
  return q.profile_id;
}

/** The grant row behind a profile, its tokens opened. */
async function grant(id) {
  const row = await w.grantRow(id, 'id, status, access_token_enc, refresh_token_enc, refresh_failures, next_refresh_at, refresh_lease_id');
  return { ...row, access: w.openEnvelope(row.access_token_enc, row.id, 'access_token'), refresh: w.openEnvelope(row.refresh_token_enc, row.id, 'refresh_token') };
}
const profileStatus = async (id) => (await w.row('SELECT status FROM profiles WHERE id = ?', id)).status;
const makeDue = (id, at) => w.sql('UPDATE grants SET next_refresh_at = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', at, id);
const forceRefresh = (id) => w.call('POST', `/v1/profiles/${id}/refresh`, { token: app.api_key });

/**
 * The isolate survived: it still answers, and workerd printed no panic and no restart
 * (what the unbounded read of the bomb used to end in).
 */
async function assertNoCrash() {
  const r = await w.call('GET', '/v1/platforms', { token: app.api_key });
  assert.equal(r.status, 200);
  const printed = w.logs.join('');
  for (const sign of ['capacity overflow', 'panicked', 'Reinitializing', 'RuntimeError']) {
    assert.ok(!printed.includes(sign), `workerd printed "${sign}"`);
  }
  // Nothing of the inflated answer was kept: it would have been stored as this token.
  for (const { value } of await w.allStoredText()) assert.ok(!value.includes('bombed'), 'a bombed answer was stored');
}

test('attack: a gzip bomb from the token endpoint ends the connect on exchange_failed, with no crash', async () => {
  provider.arm('ex-bomb', 'exchange');
  const { link, q } = await connect('ex-bomb');
  provider.disarm('ex-bomb', 'exchange');
  assert.deepEqual([q.connected, q.error, q.link_id], ['false', 'exchange_failed', link.id]);
  const l = await w.call('GET', `/v1/connect-links/${link.id}`, { token: app.api_key });
  assert.deepEqual([l.body.status, l.body.error], ['failed', 'exchange_failed']);
  assert.equal(provider.callsOf('ex-bomb', 'exchange').length, 1);
  await assertNoCrash();
});

test('attack: a gzip bomb from the identity endpoint ends the connect on profile_failed, with no crash', async () => {
  provider.arm('id-bomb', 'userinfo');
  const { q } = await connect('id-bomb');
  provider.disarm('id-bomb', 'userinfo');
  assert.deepEqual([q.connected, q.error], ['false', 'profile_failed']);
  assert.equal(provider.callsOf('id-bomb', 'userinfo').length, 1);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM grants WHERE platform_user_id = 'bomb|id-bomb'")).n, 0, 'nothing stored');
  await assertNoCrash();
});

test('attack: a forced refresh answered with a gzip bomb is a 502 "answer over 1 MiB"; the tokens stay, the grant backs off', async () => {
  const id = await connected('rf-bomb');
  const before = await grant(id);
  provider.arm('rf-bomb', 'refresh');
  const r = await forceRefresh(id);
  provider.disarm('rf-bomb', 'refresh');
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'upstream_error');
  assert.match(r.body.error.message, /answer over 1 MiB/);
  const after = await grant(id);
  assert.deepEqual([after.status, after.access, after.refresh, after.refresh_failures], ['active', before.access, before.refresh, 1]);
  assert.ok(after.next_refresh_at > now(), 'backed off');
  assert.equal(await profileStatus(id), 'active');
  assert.equal(provider.callsOf('rf-bomb', 'refresh').length, 1);
  await assertNoCrash();
});

test('attack: a cron run with a bombed grant most overdue still refreshes the others and does its other work', async () => {
  const bombed = await connected('cron-bomb');
  const calm = [await connected('cron-calm1'), await connected('cron-calm2')];
  const tokensBefore = {};
  for (const id of [bombed, ...calm]) tokensBefore[id] = await grant(id);
  // A webhook delivery that failed once and is due again.
  receiver.status = 500;
  provider.noExpiry.add('cron-live');
  const live = await connected('cron-live');
  await w.settled();
  receiver.status = 200;
  const retry = await w.row("SELECT id FROM webhook_outbox WHERE type = 'profile.connected' AND body LIKE ? AND delivered_at IS NULL", `%${live}%`);
  assert.ok(retry, 'a failed delivery waits in the outbox');
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() - 1, retry.id);
  // A liveness check due (its token never expires), and a consumed state past its day.
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, live);
  await w.sql("INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES ('old-state', 'cl_old', ?)", now() - 3 * 86400);
  await makeDue(bombed, now() - 600);
  for (const id of calm) await makeDue(id, now() - 60);
  provider.arm('cron-bomb', 'refresh');

  await w.cron();
  provider.disarm('cron-bomb', 'refresh');

  const b = await grant(bombed);
  assert.deepEqual([b.status, b.access, b.refresh, b.refresh_failures], ['active', tokensBefore[bombed].access, tokensBefore[bombed].refresh, 1]);
  assert.ok(b.next_refresh_at > now(), 'the bombed grant is backed off');
  for (const id of calm) {
    const g = await grant(id);
    assert.deepEqual([g.status, g.refresh_failures], ['active', 0]);
    assert.notEqual(g.refresh, tokensBefore[id].refresh, 'refreshed in the same run');
    assert.equal(g.refresh, provider.liveRefresh(`cron-calm${calm.indexOf(id) + 1}`));
  }
  const delivered = await w.row('SELECT delivered_at FROM webhook_outbox WHERE id = ?', retry.id);
  assert.ok(delivered.delivered_at, 'the webhook retry was delivered');
  const checked = await w.row('SELECT next_check_at, check_failures FROM profiles WHERE id = ?', live);
  assert.ok(checked.next_check_at > now() + 86400, 'the liveness check passed and moved a week on');
  assert.equal(checked.check_failures, 0);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM consumed_states WHERE state_hash = 'old-state'")).n, 0, 'housekeeping ran');
  await assertNoCrash();
});

test('attack: a liveness check answered with a gzip bomb backs off, with no crash and no disconnect', async () => {
  provider.noExpiry.add('lv-bomb');
  const id = await connected('lv-bomb');
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, id);
  const calls = provider.callsOf('lv-bomb', 'userinfo').length;
  provider.arm('lv-bomb', 'userinfo');
  await w.cron();
  provider.disarm('lv-bomb', 'userinfo');
  assert.equal(provider.callsOf('lv-bomb', 'userinfo').length, calls + 1, 'checked once');
  const row = await w.row('SELECT status, check_failures, next_check_at FROM profiles WHERE id = ?', id);
  assert.deepEqual([row.status, row.check_failures], ['active', 1]);
  assert.ok(row.next_check_at > now(), 'backed off');
  await assertNoCrash();
});

test('a grant is marked as attempted before its call: a call that never comes back is not picked again while the other due grants are', async () => {
  const hung = await connected('hang');
  const calm = [await connected('hang-calm1'), await connected('hang-calm2')];
  const letGo = provider.hold('hang', 'before');
  await makeDue(hung, now() - 600);
  const first = w.cron();
  try {
    await until('the hung refresh to reach the platform', () => provider.callsOf('hang', 'refresh').length === 1);
    // Pushed back before the call, by the lease itself.
    const marked = await grant(hung);
    assert.ok(marked.next_refresh_at > now(), `next_refresh_at ${marked.next_refresh_at} was not moved before the call`);
    assert.ok(marked.refresh_lease_id, 'leased');
    // Its holder is taken for dead (its lease ran out); the others come due after it.
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, marked.id);
    for (const id of calm) await makeDue(id, now() - 60);
    await w.cron();
    assert.equal(provider.callsOf('hang', 'refresh').length, 1, 'the hung grant was not called again');
    for (const [i, id] of calm.entries()) assert.equal((await grant(id)).refresh, provider.liveRefresh(`hang-calm${i + 1}`), 'the others were refreshed');
  } finally {
    letGo();
    await first;
  }
  // The held call, once answered, is stored: nothing was lost.
  const after = await grant(hung);
  assert.deepEqual([after.status, after.refresh, after.refresh_lease_id], ['active', provider.liveRefresh('hang'), null]);
});

test('an attempt whose lease was never released counts as a failure: the next one backs off further', async () => {
  const id = await connected('orphan');
  const g = await grant(id);
  // As a holder killed mid-call leaves it: lease set and run out, no failure written.
  await w.sql('UPDATE grants SET refresh_lease_id = ?, refresh_lease_until = ?, next_refresh_at = ?, refresh_failures = 0 WHERE id = ?', 'lse_dead', now() - 1, now() - 1, g.id);
  provider.failNext('orphan', 'refresh', () => new Response('busy', { status: 503, headers: { connection: 'close' } }));
  await w.cron();
  const after = await grant(id);
  assert.equal(after.refresh_failures, 2, 'the dead attempt and this one');
  assert.ok(after.next_refresh_at > now(), 'backed off');
  assert.equal(after.refresh_lease_id, null);
  assert.equal(await profileStatus(id), 'active');
});

test('the rest of a cron run does not wait behind a refresh that hangs', async () => {
  const slow = await connected('slowpoke');
  receiver.status = 500;
  provider.noExpiry.add('slow-live');
  const live = await connected('slow-live');
  await w.settled();
  receiver.status = 200;
  const retry = await w.row("SELECT id FROM webhook_outbox WHERE type = 'profile.connected' AND body LIKE ? AND delivered_at IS NULL", `%${live}%`);
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() - 1, retry.id);
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, live);
  await w.sql("INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES ('old-state-2', 'cl_old', ?)", now() - 3 * 86400);
  const letGo = provider.hold('slowpoke', 'before');
  await makeDue(slow, now() - 60);
  const run = w.cron();
  try {
    await until('the refresh to reach the platform', () => provider.callsOf('slowpoke', 'refresh').length === 1);
    // While that call is still out: the webhook retry, the liveness check and housekeeping.
    await until('the webhook retry', async () => (await w.row('SELECT delivered_at FROM webhook_outbox WHERE id = ?', retry.id)).delivered_at);
    await until('the liveness check', async () => (await w.row('SELECT next_check_at FROM profiles WHERE id = ?', live)).next_check_at > now() + 86400);
    await until('housekeeping', async () => (await w.row("SELECT COUNT(*) AS n FROM consumed_states WHERE state_hash = 'old-state-2'")).n === 0);
  } finally {
    letGo();
    await run;
  }
  assert.equal((await grant(slow)).refresh, provider.liveRefresh('slowpoke'));
});

test('a run calls the platform at most once per grant, across its rounds', async () => {
  // Answered with a token that lives one second: due again at once.
  provider.shortLived.add('brief');
  const brief = await connected('brief');
  provider.shortLived.delete('brief');
  // A grant that fails locally (its envelope under a key this deployment lacks) makes the run
  // select again.
  const broken = await connected('broken');
  const bg = await grant(broken);
  await w.sql('UPDATE grants SET access_token_enc = ? WHERE id = ?', bg.access_token_enc.replace(/^v1\.[^.]+\./, 'v1.gone.'), bg.id);
  // A grant refreshed after the run started whose new token is due at once, as a token with
  // expires_in <= 300 s refreshed in the run's first second leaves it: every round selects
  // it again, and only the lease's "refreshed since the run started" refuses the call.
  const again = await connected('again');
  const ag = await grant(again);
  await w.sql('UPDATE grants SET next_refresh_at = ?, last_refresh_ms = ? WHERE id = ?', now() - 30, Date.now() + 60_000, ag.id);
  provider.shortLived.add('brief');
  await makeDue(brief, now() - 60);
  await makeDue(broken, now() - 120);
  const calls = provider.callsOf('brief', 'refresh').length;
  const rounds = () => w.logs.join('').split('"event":"cron_refresh"').length - 1;
  const roundsBefore = rounds();
  try {
    await w.cron();
    provider.shortLived.delete('brief');
    await until('two rounds logged', () => rounds() >= roundsBefore + 2);
  } finally {
    await w.sql('UPDATE grants SET next_refresh_at = ?, last_refresh_ms = NULL WHERE id = ?', now() + 86400, ag.id);
  }
  assert.equal(provider.callsOf('brief', 'refresh').length, calls + 1);
  assert.equal(provider.callsOf('broken', 'refresh').length, 0);
  assert.equal(provider.callsOf('again', 'refresh').length, 0, 'selected by every round, called by none');
  assert.equal((await grant(brief)).refresh, provider.liveRefresh('brief'));
});

test('a lease that outlived its holder: the second holder\'s invalid_grant does not disconnect; the first holder\'s rotated tokens are stored', async () => {
  const id = await connected('gen-b');
  const g = await grant(id);
  // The first holder's call spends the refresh token and is slow to answer.
  const letGo = provider.hold('gen-b', 'after');
  const first = forceRefresh(id);
  try {
    await until('the first refresh to spend the token', () => !provider.tokens.get(g.refresh).live);
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, g.id);
    // The second holder takes the lease over and sends the same, now spent, token.
    const second = await forceRefresh(id);
    assert.equal(second.status, 502, JSON.stringify(second.body));
    assert.equal(await profileStatus(id), 'active', 'an invalid_grant after a takeover proves nothing');
  } finally {
    letGo();
  }
  const r = await first;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const after = await grant(id);
  assert.deepEqual([after.status, after.refresh], ['active', provider.liveRefresh('gen-b')]);
  assert.equal(await profileStatus(id), 'active');
  await w.settled();
  assert.deepEqual(receiver.of('profile.disconnected', id), []);
  assert.equal((await forceRefresh(id)).status, 200, 'the stored tokens work');
});

test('a lease that outlived its holder: the first holder\'s invalid_grant does not disconnect while the second holder stores its tokens', async () => {
  const id = await connected('gen-a');
  const g = await grant(id);
  // The first holder's call is slow to arrive; meanwhile its lease runs out.
  const letFirstGo = provider.hold('gen-a', 'before');
  const first = forceRefresh(id);
  let letSecondGo = () => {};
  let second;
  try {
    await until('the first refresh to reach the platform', () => provider.callsOf('gen-a', 'refresh').length === 1);
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, g.id);
    // The second holder spends the token first; its answer is slow to come back.
    letSecondGo = provider.hold('gen-a', 'after');
    second = forceRefresh(id);
    await until('the second refresh to spend the token', () => !provider.tokens.get(g.refresh).live);
    // Now the first holder's call is refused: its token was just spent.
    letFirstGo();
    const r1 = await first;
    assert.equal(r1.status, 409, JSON.stringify(r1.body));
    assert.equal(await profileStatus(id), 'active', 'a holder whose lease was taken over disconnects nothing');
  } finally {
    letFirstGo();
    letSecondGo();
  }
  const r2 = await second;
  assert.equal(r2.status, 200, JSON.stringify(r2.body));
  const after = await grant(id);
  assert.deepEqual([after.status, after.refresh], ['active', provider.liveRefresh('gen-a')]);
  await w.settled();
  assert.deepEqual(receiver.of('profile.disconnected', id), []);
});

/** A platform's answer that the grant is dead (classified terminal for this provider). */
const deadGrant = () => new Response(JSON.stringify({ error: 'invalid_grant', error_description: 'revoked' }), { status: 400, headers: { 'content-type': 'application/json', connection: 'close' } });
const checkRow = (id) => w.row('SELECT status, next_check_at, check_failures FROM profiles WHERE id = ?', id);

test('a lease that outlived its holder: the suspicion lasts until a store, so a later trigger on a free lease does not disconnect either', async () => {
  const id = await connected('gen-c');
  const g = await grant(id);
  // Holder A spends the refresh token; its answer (and so its store) is slow to come back.
  const letGo = provider.hold('gen-c', 'after');
  const first = forceRefresh(id);
  try {
    await until('the first refresh to spend the token', () => !provider.tokens.get(g.refresh).live);
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, g.id);
    // B takes the lease over, is answered invalid_grant, proves nothing and frees the lease.
    assert.equal((await forceRefresh(id)).status, 502);
    // C finds the lease free and sends the same spent token: still nothing proven.
    const third = await forceRefresh(id);
    assert.equal(third.status, 502, JSON.stringify(third.body));
    assert.equal(await profileStatus(id), 'active', 'an invalid_grant on a free lease after a takeover proves nothing');
  } finally {
    letGo();
  }
  const r = await first;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const after = await grant(id);
  assert.deepEqual([after.status, after.refresh], ['active', provider.liveRefresh('gen-c')]);
  await w.settled();
  assert.deepEqual(receiver.of('profile.disconnected', id), []);
  // The store ended the suspicion: a grant the platform then declares dead is disconnected.
  provider.failNext('gen-c', 'refresh', deadGrant);
  const dead = await forceRefresh(id);
  assert.equal(dead.status, 409, JSON.stringify(dead.body));
  assert.equal(await profileStatus(id), 'disconnected');
});

test('a liveness check that takes over a refresh lease trusts no dead-token answer, and passes the suspicion on to the next refresh', async () => {
  provider.noExpiry.add('gen-lv');
  const id = await connected('gen-lv');
  const g = await grant(id);
  const letGo = provider.hold('gen-lv', 'after');
  const first = forceRefresh(id);
  try {
    await until('the refresh to spend the token', () => !provider.tokens.get(g.refresh).live);
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, g.id);
    // The liveness check takes the lease over and is answered that the token is dead (as a
    // platform that drops the old access token on rotation would answer).
    await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, id);
    provider.failNext('gen-lv', 'userinfo', deadGrant);
    const calls = provider.callsOf('gen-lv', 'userinfo').length;
    await w.cron();
    assert.equal(provider.callsOf('gen-lv', 'userinfo').length, calls + 1, 'checked');
    const checked = await checkRow(id);
    assert.deepEqual([checked.status, checked.check_failures], ['active', 1], 'inconclusive: backed off');
    // The next refresh finds the lease free and sends the spent token: nothing proven.
    const second = await forceRefresh(id);
    assert.equal(second.status, 502, JSON.stringify(second.body));
    assert.equal(await profileStatus(id), 'active');
  } finally {
    letGo();
  }
  assert.equal((await first).status, 200);
  assert.deepEqual([(await grant(id)).status, (await grant(id)).refresh], ['active', provider.liveRefresh('gen-lv')]);
});

test('a liveness lease left unreleased is not a dead refresh: the next refresh trusts its invalid_grant and counts no failure', async () => {
  provider.noExpiry.add('lv-orphan');
  const id = await connected('lv-orphan');
  const g = await grant(id);
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, id);
  const letGo = provider.hold('lv-orphan', 'before', 'userinfo');
  const calls = provider.callsOf('lv-orphan', 'userinfo').length;
  const run = w.cron();
  try {
    await until('the check to reach the platform', () => provider.callsOf('lv-orphan', 'userinfo').length === calls + 1);
    // Its holder is taken for dead (as an isolate killed mid-check, or a proxy check whose
    // client hung up, leaves it).
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = ?', now() - 1, g.id);
    provider.failNext('lv-orphan', 'refresh', deadGrant);
    const r = await forceRefresh(id);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    const after = await w.grantRow(id, 'status, refresh_failures');
    assert.deepEqual([after.status, after.refresh_failures], ['disconnected', 0]);
  } finally {
    letGo();
    await run;
  }
});

test('a liveness check is marked before its call: a check that never comes back is not picked again while the other due checks are', async () => {
  provider.noExpiry.add('lv-hang');
  provider.noExpiry.add('lv-calm');
  const hung = await connected('lv-hang');
  const calm = await connected('lv-calm');
  await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, hung);
  const letGo = provider.hold('lv-hang', 'before', 'userinfo');
  const calls = provider.callsOf('lv-hang', 'userinfo').length;
  const first = w.cron();
  try {
    await until('the hung check to reach the platform', () => provider.callsOf('lv-hang', 'userinfo').length === calls + 1);
    // Pushed back, and counted as a failure until it answers, before the call.
    const marked = await checkRow(hung);
    assert.ok(marked.next_check_at > now(), `next_check_at ${marked.next_check_at} was not moved before the call`);
    assert.equal(marked.check_failures, 1);
    // Its holder is taken for dead (its lease ran out); the other check comes due after it.
    await w.sql('UPDATE grants SET refresh_lease_until = ? WHERE id = (SELECT grant_id FROM profiles WHERE id = ?)', now() - 1, hung);
    await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 1, calm);
    const calmCalls = provider.callsOf('lv-calm', 'userinfo').length;
    await w.cron();
    assert.equal(provider.callsOf('lv-hang', 'userinfo').length, calls + 1, 'the hung check was not made again');
    assert.equal(provider.callsOf('lv-calm', 'userinfo').length, calmCalls + 1, 'the other one was made');
    assert.ok((await checkRow(calm)).next_check_at > now() + 86400);
  } finally {
    letGo();
    await first;
  }
  // The held check, once answered, passed.
  const after = await checkRow(hung);
  assert.deepEqual([after.status, after.check_failures], ['active', 0]);
  assert.ok(after.next_check_at > now() + 86400);
});

test('a cron run keeps to six connections: four refreshes, one liveness check, and webhook retries and housekeeping on one more', async () => {
  const users = ['slot1', 'slot2', 'slot3', 'slot4', 'slot5'];
  const ids = [];
  for (const u of users) ids.push(await connected(u));
  provider.noExpiry.add('slot-lv1');
  provider.noExpiry.add('slot-lv2');
  const lv1 = await connected('slot-lv1');
  // A webhook delivery that failed once and is due again.
  receiver.status = 500;
  const lv2 = await connected('slot-lv2');
  await w.settled();
  receiver.status = 200;
  const retry = await w.row("SELECT id FROM webhook_outbox WHERE type = 'profile.connected' AND body LIKE ? AND delivered_at IS NULL", `%${lv2}%`);
  await w.sql('UPDATE webhook_outbox SET next_attempt_at = ? WHERE id = ?', now() - 1, retry.id);
  await w.sql("INSERT INTO consumed_states (state_hash, link_id, consumed_at) VALUES ('old-state-3', 'cl_old', ?)", now() - 3 * 86400);
  // Every call is held at the platform until the test lets it go; these are the most overdue.
  const holds = [...users.map((u) => provider.hold(u, 'before')), provider.hold('slot-lv1', 'before', 'userinfo'), provider.hold('slot-lv2', 'before', 'userinfo')];
  for (const id of ids) await makeDue(id, now() - 3600);
  for (const id of [lv1, lv2]) await w.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', now() - 3600, id);
  const refreshCalls = () => users.filter((u) => provider.callsOf(u, 'refresh').length > 0).length;
  const checkCalls = () => ['slot-lv1', 'slot-lv2'].filter((u) => provider.callsOf(u, 'userinfo').length > 1).length;
  const run = w.cron();
  try {
    await until('four refreshes at the platform', () => refreshCalls() >= 4);
    await until('a liveness check at the platform', () => checkCalls() >= 1);
    // Beside them on the sixth connection: the webhook retry, then housekeeping.
    await until('the webhook retry', async () => (await w.row('SELECT delivered_at FROM webhook_outbox WHERE id = ?', retry.id)).delivered_at);
    await until('housekeeping', async () => (await w.row("SELECT COUNT(*) AS n FROM consumed_states WHERE state_hash = 'old-state-3'")).n === 0);
    assert.equal(refreshCalls(), 4, 'a fifth refresh waits for a free slot');
    assert.equal(checkCalls(), 1, 'a second check waits for the first');
  } finally {
    for (const letGo of holds) letGo();
    await run;
  }
  for (const [i, id] of ids.entries()) assert.equal((await grant(id)).refresh, provider.liveRefresh(users[i]), `${users[i]} refreshed in the run`);
  for (const id of [lv1, lv2]) assert.ok((await checkRow(id)).next_check_at > now() + 86400, 'checked in the run');
});

// The cap to the byte, counted in inflated bytes: both answers are a few KB on the wire (their
// Content-Length the compressed size), so only a count of what the runtime inflates tells them
// apart, and only a cap of exactly 1 MiB refuses the one and keeps the other.
const MiB = 1024 * 1024;

test('the cap is 1 MiB of inflated bytes: a true refresh answer gzipped to 1 MiB + 1 byte is refused as "answer over 1 MiB"', async () => {
  const probe = gzipPadded({ access_token: 'probe' }, MiB + 1);
  assert.ok(probe.length < 64 * 1024, `${probe.length} bytes on the wire`);
  assert.equal(zlib.gunzipSync(probe).length, MiB + 1);
  const id = await connected('cap-over');
  const before = await grant(id);
  const calls = provider.callsOf('cap-over', 'refresh').length;
  provider.padNext('cap-over', 'refresh', MiB + 1);
  const r = await forceRefresh(id);
  assert.equal(provider.callsOf('cap-over', 'refresh').length, calls + 1);
  assert.equal(provider.padded.size, 0, 'the padded answer was sent');
  assert.equal(r.status, 502, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'upstream_error');
  assert.match(r.body.error.message, /answer over 1 MiB/);
  const after = await grant(id);
  assert.deepEqual([after.status, after.access, after.refresh, after.refresh_failures], ['active', before.access, before.refresh, 1]);
  await assertNoCrash();
});

test('the cap is 1 MiB of inflated bytes: the same answer gzipped to exactly 1 MiB is read and its tokens stored', async () => {
  const id = await connected('cap-at');
  const before = await grant(id);
  provider.padNext('cap-at', 'refresh', MiB);
  const r = await forceRefresh(id);
  assert.equal(provider.padded.size, 0, 'the padded answer was sent');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const after = await grant(id);
  assert.notEqual(after.refresh, before.refresh);
  assert.deepEqual([after.status, after.refresh, after.refresh_failures], ['active', provider.liveRefresh('cap-at'), 0]);
  assert.equal((await w.call('GET', `/v1/profiles/${id}/access-token`, { token: app.api_key })).body.access_token, after.access);
});

test('a cron run keeps to its budget: checks of a host that hangs stop being started, and the ones not started stay due for the next run', async () => {
  // A worker of its own: a short timeout and budget (this file's worker keeps the defaults).
  const vars = { ...hostileVars(), PLATFORM_TIMEOUT_MS: '1000', CRON_PHASE_BUDGET_MS: '2500' };
  const w2 = await startWorker({ vars, outbound: streamingOutbound(async (request) => (await provider.answer(request)) ?? others.handle(request)), captureLogs: true });
  const users = ['budget1', 'budget2', 'budget3', 'budget4', 'budget5'];
  const holds = [];
  try {
    const r = await w2.admin('POST', '/v1/admin/apps', { name: 'Budget app', allowed_redirect_urls: [REDIRECT] });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const ids = [];
    for (const user of users) {
      provider.noExpiry.add(user);
      const link = await w2.createLink(r.body.api_key, { platform: HOSTILE_ID, redirect_url: REDIRECT });
      const { code, state } = provider.approve(link.authorize_url, user);
      const res = await w2.callback(`${w2.base}/oauth/callback?${new URLSearchParams({ code, state })}`);
      ids.push(new URL(res.headers.get('location')).searchParams.get('profile_id'));
    }
    // All five due, most overdue first; every check hangs until its timeout.
    const dueAt = ids.map((_, i) => now() - 3600 + i);
    for (const [i, id] of ids.entries()) await w2.sql('UPDATE profiles SET next_check_at = ? WHERE id = ?', dueAt[i], id);
    for (const user of users) holds.push(provider.hold(user, 'before', 'userinfo'));
    const calls = users.map((u) => provider.callsOf(u, 'userinfo').length);
    const checked = () => users.filter((u, i) => provider.callsOf(u, 'userinfo').length > calls[i]).length;
    const rows = () => Promise.all(ids.map((id) => w2.row('SELECT next_check_at, check_failures FROM profiles WHERE id = ?', id)));
    await w2.cron();
    const started = checked();
    assert.ok(started >= 1 && started < users.length, `${started} of ${users.length} checks started in a 2.5 s budget of 1 s calls`);
    const after = await rows();
    for (const [i, row] of after.entries()) {
      if (i < started) assert.ok(row.next_check_at > now(), `${users[i]} was checked (and backed off)`);
      // Never marked: as due as before, no failure counted.
      else assert.deepEqual([row.next_check_at, row.check_failures], [dueAt[i], 0], `${users[i]} is still due as it was`);
    }
    // The next run picks them up.
    for (const letGo of holds) letGo();
    await w2.cron();
    for (const [i, row] of (await rows()).entries()) {
      if (i >= started) assert.ok(row.next_check_at > now() + 86400, `${users[i]} checked in the next run`);
    }
  } finally {
    for (const letGo of holds) letGo();
    await w2.stop();
  }
});
