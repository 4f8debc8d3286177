// Platform events in, the operator's side: an app's `platform_events` setting (checked,
// shown, replaced, cleared), GET /v1/admin/platform-events/stats over the last 24 hours, and
// the cron's purge of old dedup keys and counters (docs/platform-events.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker } from './harness.mjs';

let w;
before(async () => { w = await startWorker(); });
after(async () => { await w?.stop(); });

const REDIRECT = 'https://app.example.com/connected';
const now = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

function assertInvalid(r, mentions) {
  // A platform id of the right shape that the deployment does not know is a matter of
  // configuration (422, as POST /v1/connect-links answers it); anything else is the form.
  const unknown = String(mentions).includes('unknown platform');
  assert.equal(r.status, unknown ? 422 : 400, JSON.stringify(r.body));
  assert.equal(r.body.error.code, unknown ? 'platform_not_configured' : 'invalid_request');
  assert.match(r.body.error.message, /^platform_events: /);
  if (mentions) assert.match(r.body.error.message, mentions);
}

test('an app asks for no platform events by default; the setting is stored, shown, replaced and cleared', async () => {
  const plain = await w.admin('POST', '/v1/admin/apps', { name: 'No events', allowed_redirect_urls: [REDIRECT] });
  assert.equal(plain.status, 201);
  assert.equal(plain.body.app.platform_events, null, 'none by default, so no app is flooded');

  const setting = { facebook: ['feed', 'mention'], sandbox: ['*'], linkedin: ['COMMENT'], x: [] };
  const r = await w.admin('POST', '/v1/admin/apps', { name: 'Events', allowed_redirect_urls: [REDIRECT], platform_events: setting });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.app.id;
  assert.deepEqual(r.body.app.platform_events, setting);
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${id}`)).body.platform_events, setting);
  assert.deepEqual(JSON.parse((await w.row('SELECT platform_events FROM apps WHERE id = ?', id)).platform_events), setting);
  const listed = (await w.admin('GET', '/v1/admin/apps?limit=100')).body.data.find((a) => a.id === id);
  assert.deepEqual(listed.platform_events, setting);

  // Another field's PATCH leaves it alone; a PATCH of it replaces the whole setting.
  assert.deepEqual((await w.admin('PATCH', `/v1/admin/apps/${id}`, { name: 'Events 2' })).body.platform_events, setting);
  const replaced = await w.admin('PATCH', `/v1/admin/apps/${id}`, { platform_events: { instagram: ['comments'] } });
  assert.equal(replaced.status, 200);
  assert.deepEqual(replaced.body.platform_events, { instagram: ['comments'] });
  const cleared = await w.admin('PATCH', `/v1/admin/apps/${id}`, { platform_events: null });
  assert.equal(cleared.status, 200);
  assert.equal(cleared.body.platform_events, null);
  assert.equal((await w.row('SELECT platform_events FROM apps WHERE id = ?', id)).platform_events, null);
  const fifty = Array.from({ length: 50 }, (_, i) => `type_${i}.x`);
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${id}`, { platform_events: { facebook: fifty } })).status, 200);
});

test('a setting naming an unknown platform, too many types or a malformed name is refused and changes nothing', async () => {
  const created = await w.admin('POST', '/v1/admin/apps', { name: 'Checked', allowed_redirect_urls: [REDIRECT], platform_events: { tiktok: ['video.publish.completed'] } });
  assert.equal(created.status, 201);
  const id = created.body.app.id;
  const bad = [
    [{ myspace: ['feed'] }, /unknown platform "myspace"/],
    [['feed'], /object/],
    ['facebook', /object/],
    [{ facebook: 'feed' }, /at most 50/],
    [{ facebook: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /at most 50/],
    [{ facebook: ['feed mention'] }, /event type/],
    [{ facebook: ['feed*'] }, /event type/],
    [{ facebook: [''] }, /event type/],
    [{ facebook: [7] }, /event type/],
    [{ facebook: ['x'.repeat(65)] }, /event type/],
  ];
  for (const [setting, mentions] of bad) {
    // The document describes the setting's shape, so a wrong one is sent unchecked.
    assertInvalid(await w.admin('PATCH', `/v1/admin/apps/${id}`, { platform_events: setting }, { unchecked: true }), mentions);
    assertInvalid(await w.admin('POST', '/v1/admin/apps', { name: 'Bad', allowed_redirect_urls: [REDIRECT], platform_events: setting }, { unchecked: true }), mentions);
  }
  assert.deepEqual((await w.admin('GET', `/v1/admin/apps/${id}`)).body.platform_events, { tiktok: ['video.publish.completed'] });
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM apps WHERE name = 'Bad'")).n, 0);
});

test('GET /v1/admin/platform-events/stats sums the last 24 hours per platform, behind the admin token', async () => {
  const r401 = await w.call('GET', '/v1/admin/platform-events/stats');
  assert.equal(r401.status, 401);
  const app = await w.createApp('Stats reader');
  assert.equal((await w.call('GET', '/v1/admin/platform-events/stats', { token: app.api_key })).status, 401);
  assert.equal((await w.admin('POST', '/v1/admin/platform-events/stats', undefined, { unchecked: true })).status, 405);

  const t = now();
  const hour = t - (t % HOUR);
  const empty = await w.admin('GET', '/v1/admin/platform-events/stats');
  assert.equal(empty.status, 200);
  assert.deepEqual(empty.body.data, []);
  assert.equal(Date.parse(empty.body.since) / 1000, hour - 23 * HOUR, 'the current hour and the 23 before it');

  const put = (platform, h, n) => w.sql(
    'INSERT INTO platform_event_stats (platform, hour, received, verified, refused, matched, forwarded) VALUES (?, ?, ?, ?, ?, ?, ?)',
    platform, h, ...n,
  );
  await put('facebook', hour, [5, 4, 1, 3, 6]);
  await put('facebook', hour - 23 * HOUR, [2, 2, 0, 1, 1]);
  await put('facebook', hour - 24 * HOUR, [100, 100, 100, 100, 100]);
  await put('x', hour - HOUR, [1, 0, 1, 0, 0]);
  const r = await w.admin('GET', '/v1/admin/platform-events/stats');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.data, [
    { platform: 'facebook', received: 7, verified: 6, refused: 1, matched: 4, forwarded: 7 },
    { platform: 'x', received: 1, verified: 0, refused: 1, matched: 0, forwarded: 0 },
  ]);
});

test('the cron purges dedup keys after 24 hours and counters after two days', async () => {
  const t = now();
  const hour = t - (t % HOUR);
  await w.sql(
    "INSERT INTO platform_event_seen (platform, dedup_key, seen_at) VALUES ('sandbox', 'old', ?), ('sandbox', 'new', ?), ('facebook', 'old', ?)",
    t - 25 * HOUR, t - 23 * HOUR, t - 24 * HOUR - 1,
  );
  await w.sql(
    "INSERT INTO platform_event_stats (platform, hour, received) VALUES ('retained', ?, 1), ('retained', ?, 1), ('retained', ?, 1)",
    hour - 49 * HOUR, hour - 47 * HOUR, hour,
  );
  await w.cron();
  const seen = (await w.db.prepare('SELECT platform, dedup_key FROM platform_event_seen ORDER BY platform, dedup_key').all()).results;
  assert.deepEqual(seen, [{ platform: 'sandbox', dedup_key: 'new' }]);
  const hours = (await w.db.prepare("SELECT hour FROM platform_event_stats WHERE platform = 'retained' ORDER BY hour").all()).results.map((r) => r.hour);
  assert.deepEqual(hours, [hour - 47 * HOUR, hour]);
});
