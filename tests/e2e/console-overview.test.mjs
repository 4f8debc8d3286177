// The console's overview (issue 28): its numbers against rows seeded in each table it reads
// (profiles, activity, proxy_stats, webhook_outbox, platform_event_stats), the charts' text
// alternative, its budget of D1 statements (docs/console.md) and the query plan of each count.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startWorker, unescapeHtml } from './harness.mjs';
import { signedIn } from './console-client.mjs';

let w;
let c;
const t = Math.floor(Date.now() / 1000);
const hourLabel = (at) => new Date(at * 1000).toISOString().slice(11, 14) + '00';
const dayLabel = (at) => new Date(at * 1000).toISOString().slice(5, 10);

before(async () => {
  w = await startWorker({ vars: { CONSOLE: 'on' }, entry: 'tests/e2e/d1-count-entry.mjs' });
  const app = (await w.createApp('Overview app')).app.id;
  const s = [];
  const profile = (id, platform, status) => {
    s.push(w.db.prepare("INSERT INTO grants (id, app_id, platform, platform_user_id, status, scopes, access_token_enc, token_kid, token_issued_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', '[]', 'v1.k1.x', 'k1', ?, ?, ?)").bind(id, app, platform, id, t, t, t));
    s.push(w.db.prepare("INSERT INTO profiles (id, app_id, grant_id, platform, platform_user_id, status, scopes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '[]', ?, ?)").bind(id, app, id, platform, id, status, t, t));
  };
  profile('prf_x1', 'x', 'active');
  profile('prf_x2', 'x', 'active');
  profile('prf_x3', 'x', 'disconnected');
  profile('prf_l1', 'linkedin', 'active');
  const act = (at, kind, outcome, n = 1) => {
    for (let i = 0; i < n; i++) {
      s.push(w.db.prepare('INSERT INTO activity (at, app_id, platform, grant_id, kind, outcome) VALUES (?, ?, ?, ?, ?, ?)').bind(at, app, 'x', 'prf_x1', kind, outcome));
    }
  };
  act(t - 2 * 3600, 'refresh', 'ok', 3);
  act(t - 2 * 3600, 'refresh', 'transient');
  act(t - 5 * 3600, 'refresh', 'disconnected');
  act(t - 26 * 3600, 'refresh', 'ok', 2); // in the 30 days, not the 24 hours
  act(t - 40 * 86400, 'refresh', 'ok', 5); // in neither
  act(t - 3600, 'connected', 'ok', 4); // not a refresh
  const minute = Math.floor(t / 60) - 120;
  const proxy = (m, platform, status, source, calls) => s.push(w.db.prepare('INSERT INTO proxy_stats (minute, platform, status, source, calls) VALUES (?, ?, ?, ?, ?)').bind(m, platform, status, source, calls));
  proxy(minute, 'x', 200, 'platform', 10);
  proxy(minute, 'x', 404, 'platform', 2);
  proxy(minute, 'x', 503, 'platform', 1);
  proxy(minute, 'x', 502, 'network', 1);
  proxy(minute, 'x', 429, 'platform', 3);
  proxy(minute, 'x', 429, 'local', 4);
  proxy(minute, 'linkedin', 200, 'platform', 5);
  proxy(minute - 26 * 60, 'x', 200, 'platform', 99);
  let n = 0;
  const event = (cols) => {
    n += 1;
    const row = { attempts: 1, next_attempt_at: null, delivered_at: null, failed_at: null, created_at: t - 40 * 86400, ...cols };
    s.push(w.db.prepare('INSERT INTO webhook_outbox (id, app_id, type, body, created_at, attempts, next_attempt_at, delivered_at, failed_at, last_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 200)')
      .bind(`evt_ov${n}`, app, 'profile.connected', '{}', row.created_at, row.attempts, row.next_attempt_at, row.delivered_at, row.failed_at));
  };
  event({ delivered_at: t - 3600 });
  event({ delivered_at: t - 3700 });
  event({ delivered_at: t - 3 * 86400 });
  event({ delivered_at: t - 40 * 86400 });
  event({ failed_at: t - 2 * 3600 });
  event({ failed_at: t - 10 * 86400 });
  event({ next_attempt_at: t + 600 });
  event({ next_attempt_at: t + 900 });
  const hour = Math.floor(t / 3600) * 3600 - 3 * 3600;
  const stats = (h, platform, received, forwarded) => s.push(w.db.prepare('INSERT INTO platform_event_stats (platform, hour, received, forwarded) VALUES (?, ?, ?, ?)').bind(platform, h, received, forwarded));
  stats(hour, 'x', 5, 3);
  stats(hour, 'linkedin', 2, 2);
  stats(hour - 30 * 3600, 'x', 100, 100);
  await w.db.batch(s);
  c = await signedIn(w);
});
after(async () => {
  await w?.stop();
});

/** The row of `table`'s text whose header cell is `name`, as its cells' texts. */
function row(html, name) {
  const m = html.match(new RegExp(`<tr><th scope="row">${name}</th>((?:<td[^>]*>[^<]*</td>)+)</tr>`));
  assert.ok(m, `a row ${name}`);
  return [...m[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((x) => x[1]);
}

/** The figure whose SVG is labelled by `id`'s title and desc. */
function figure(html, id) {
  const start = html.indexOf(`<figcaption id="${id}-cap">`);
  assert.ok(start > 0, `a chart ${id}`);
  return html.slice(start, html.indexOf('</figure>', start));
}

test('the overview counts what the tables hold, in the windows it names', async () => {
  const r = await c.get('/console');
  assert.equal(r.status, 200);
  const html = r.text;
  // Profiles by platform and status.
  assert.match(html, /<th scope="col">Platform<\/th><th scope="col">active<\/th><th scope="col">disconnected<\/th><th scope="col">Total<\/th>/);
  assert.deepEqual(row(html, 'x'), ['2', '1', '3']);
  assert.deepEqual(row(html, 'linkedin'), ['1', '0', '1']);
  // Refreshes: per hour (24 h) and per day (30 d), by outcome; other kinds are not counted.
  const h24 = figure(html, 'refresh-24h');
  assert.deepEqual(row(h24, hourLabel(t - 2 * 3600)), ['3', '1', '0', '4']);
  assert.deepEqual(row(h24, hourLabel(t - 5 * 3600)), ['0', '0', '1', '1']);
  assert.match(h24, /Totals: Succeeded 3, Transient failure 1, Disconnected 1\.<\/desc>/);
  const d30 = figure(html, 'refresh-30d');
  assert.match(d30, /Totals: Succeeded 5, Transient failure 1, Disconnected 1\.<\/desc>/);
  const days = [...d30.matchAll(/<tr><th scope="row">[^<]*<\/th>(?:<td>\d+<\/td>){3}<td>(\d+)<\/td><\/tr>/g)];
  assert.equal(days.length, 30);
  assert.equal(days.reduce((a, m) => a + Number(m[1]), 0), 7);
  assert.ok(Number(row(d30, dayLabel(t - 26 * 3600)).at(-1)) >= 2);
  // Proxied calls of the last 24 hours per platform: the platform's 429 apart from the
  // worker's own refusals; a network failure (502) is a 5xx.
  const proxy = html.slice(html.indexOf('id="proxy-h"'), html.indexOf('id="webhooks-h"'));
  assert.deepEqual(row(proxy, 'x'), ['10', '2', '2', '3', '4', '21']);
  assert.deepEqual(row(proxy, 'linkedin'), ['5', '0', '0', '0', '0', '5']);
  const px = figure(html, 'proxy-x');
  assert.deepEqual(row(px, hourLabel(minute(t))), ['10', '2', '2', '3', '4', '21']);
  // Webhook deliveries: 24 hours, 30 days, retrying now.
  assert.deepEqual(row(html, 'Delivered'), ['2', '3']);
  assert.deepEqual(row(html, 'Given up'), ['1', '2']);
  assert.deepEqual(row(html, 'Retrying \\(waiting for an attempt now\\)'), ['2']);
  assert.match(figure(html, 'webhooks-30d'), /Totals: Delivered 3, Given up 2\.<\/desc>/);
  // Platform events received and forwarded.
  const events = html.slice(html.indexOf('id="events-h"'));
  assert.deepEqual(row(events, 'x'), ['5', '3', '8']);
  assert.deepEqual(row(events, 'linkedin'), ['2', '2', '4']);
  assert.deepEqual(row(figure(html, 'events-24h'), hourLabel(Math.floor(t / 3600) * 3600 - 3 * 3600)), ['7', '5']);
});

function minute(at) {
  return (Math.floor(at / 60) - 120) * 60;
}

test('each chart is an image named by its title and desc, with its numbers as a table; no script, no inline style', async () => {
  const r = await c.get('/console');
  const html = r.text;
  const svgs = [...html.matchAll(/<svg [^>]*>/g)].map((m) => m[0]);
  assert.equal(svgs.length, 6); // refreshes ×2, proxy x and linkedin, webhooks, events
  for (const svg of svgs) {
    const id = svg.match(/aria-labelledby="([^" ]+)-title \1-desc"/);
    assert.ok(id && svg.includes('role="img"'), svg);
    assert.match(html, new RegExp(`<title id="${id[1]}-title">[^<]+</title><desc id="${id[1]}-desc">[^<]+</desc>`));
    const fig = figure(html, id[1]);
    assert.match(fig, /<details><summary>The numbers<\/summary><div class="table-wrap"><table><caption>/);
    assert.match(fig, /<ul class="legend">/);
  }
  assert.doesNotMatch(html, /style=/);
  assert.doesNotMatch(html, /<script/);
  assert.match(unescapeHtml(html), /Refreshes per hour, last 24 hours/);
});

test('the overview runs its documented budget of D1 statements, in one batch', async () => {
  const r = await c.get('/console');
  assert.equal(r.status, 200);
  // docs/console.md, "D1 statements": Overview 6.
  const doc = fs.readFileSync(new URL('../../docs/console.md', import.meta.url), 'utf8');
  const budget = Number(doc.match(/^\| Overview \(`GET \/console`\) \| (\d+) /m)?.[1]);
  assert.equal(budget, 6);
  assert.equal(Number(r.headers.get('x-test-d1-statements')), budget);
});

test('each count reads an index or a bounded range (EXPLAIN QUERY PLAN)', async () => {
  const src = fs.readFileSync(new URL('../../src/store/console.rs', import.meta.url), 'utf8');
  const block = src.slice(src.indexOf('const OVERVIEW_SQL'), src.indexOf('];', src.indexOf('const OVERVIEW_SQL')));
  const sqls = [...block.matchAll(/"((?:[^"\\]|\\[\s\S])*)"/g)].map((m) => m[1].replace(/\\\n\s*/g, ''));
  assert.equal(sqls.length, 6);
  for (const sql of sqls) {
    const params = Math.max(0, ...[...sql.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
    const args = [Math.floor(t / 3600) - 23, Math.floor(t / 86400) - 29, t].slice(0, params);
    const plan = (await w.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...args).all()).results.map((p) => p.detail).join('\n');
    // The windowed tables are searched by a range of an index; profiles (every one is counted)
    // are read from a covering index, not the table; platform_event_stats (two days of hourly
    // rows) may be read whole.
    const lines = plan.split('\n');
    const bad = lines.filter((d) => (/^SCAN (activity|proxy_stats|webhook_outbox)\b/.test(d))
      || (/^(SCAN|SEARCH) profiles\b/.test(d) && !/USING COVERING INDEX profiles_platform_status/.test(d)));
    assert.deepEqual(bad, [], `${sql}\n${plan}`);
  }
});
