// An app's brand (issue 25): `display_name` and `accent_color` on the admin API, and a logo
// uploaded as PNG or SVG, sanitized, and served by the worker itself. The attacks come first:
// every hostile upload is refused (422) or served stripped, asserted on the bytes served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import zlib from 'node:zlib';
import { startWorker } from './harness.mjs';
import { checkAnswer } from './openapi-check.mjs';

const KiB = 1024;
let w;
let app;

before(async () => {
  w = await startWorker({});
  app = (await w.createApp('acme-internal')).app;
});
after(async () => {
  await w?.stop();
});

/** PUTs a logo (raw body) as the operator, or with `token`. */
function putLogo(appId, body, type, { token = w.bindings.ADMIN_TOKEN, headers = {} } = {}) {
  return w.call('PUT', `/v1/admin/apps/${appId}/logo`, { token, raw: body, headers: { 'content-type': type, ...headers } });
}

/** GETs a served logo: status, headers and the bytes, checked against the document. */
async function getLogo(url) {
  const res = await fetch(url, { redirect: 'manual' });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type');
  const body = type?.startsWith('application/json') ? JSON.parse(bytes.toString('utf8')) : bytes.toString('latin1');
  checkAnswer({ method: 'GET', path: new URL(url).pathname, status: res.status, contentType: type, body, text: bytes.toString('latin1') });
  return { status: res.status, headers: res.headers, bytes };
}

async function uploaded(body, type) {
  const r = await putLogo(app.id, body, type);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.match(r.body.logo_url, new RegExp(`^${w.base}/apps/${app.id}/logo/[0-9a-f]{16}\\.(png|svg)$`));
  return r.body.logo_url;
}

const SQUARE = '<rect width="10" height="10" fill="#f00"/>';

// --- PNG builders (CRCs by node's zlib) ---

function chunk(type, data = Buffer.alloc(0)) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(typed));
  return Buffer.concat([len, typed, crc]);
}
function ihdr(width, height, depth = 8, color = 6) {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = depth;
  d[9] = color;
  return chunk('IHDR', d);
}
const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IDAT = chunk('IDAT', zlib.deflateSync(Buffer.from([0, 0, 0, 0, 0])));
const png = (...chunks) => Buffer.concat([SIGNATURE, ...chunks]);
const CLEAN_PNG = png(ihdr(1, 1), IDAT, chunk('IEND'));

// --- The admin API's fields ---

test('display_name and accent_color: set on create, shown by GET and the list, changed and cleared by PATCH', async () => {
  const created = await w.admin('POST', '/v1/admin/apps', {
    name: 'internal-name', allowed_redirect_urls: ['https://app.example.com/done'], display_name: '  Acme Posts ', accent_color: '#FF8800',
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const a = created.body.app;
  assert.deepEqual([a.display_name, a.accent_color, a.logo_url], ['Acme Posts', '#ff8800', null]);
  const got = await w.admin('GET', `/v1/admin/apps/${a.id}`);
  assert.deepEqual([got.body.display_name, got.body.accent_color, got.body.logo_url], ['Acme Posts', '#ff8800', null]);
  const listed = await w.admin('GET', '/v1/admin/apps?limit=100');
  assert.equal(listed.body.data.find((x) => x.id === a.id).display_name, 'Acme Posts');

  // Absent: unchanged; a value: replaced; null: cleared.
  let p = await w.admin('PATCH', `/v1/admin/apps/${a.id}`, { name: 'renamed' });
  assert.deepEqual([p.body.display_name, p.body.accent_color], ['Acme Posts', '#ff8800']);
  p = await w.admin('PATCH', `/v1/admin/apps/${a.id}`, { display_name: 'Acme', accent_color: '#00aa00' });
  assert.deepEqual([p.body.display_name, p.body.accent_color], ['Acme', '#00aa00']);
  p = await w.admin('PATCH', `/v1/admin/apps/${a.id}`, { display_name: null, accent_color: null });
  assert.deepEqual([p.body.display_name, p.body.accent_color], [null, null]);
  const stored = await w.row('SELECT display_name, accent_color FROM apps WHERE id = ?', a.id);
  assert.deepEqual({ ...stored }, { display_name: null, accent_color: null });
});

test('display_name and accent_color are validated on create and on PATCH (400, the field named)', async () => {
  const bad = [
    [{ display_name: '' }, 'display_name'],
    [{ display_name: '   ' }, 'display_name'],
    [{ display_name: 'x'.repeat(101) }, 'display_name'],
    [{ display_name: 'Acme\nPosts' }, 'display_name'],
    [{ display_name: 'Acme\u0000' }, 'display_name'],
    [{ display_name: 'Acme\u009b31m' }, 'display_name'],
    [{ accent_color: 'red' }, 'accent_color'],
    [{ accent_color: '#fff' }, 'accent_color'],
    [{ accent_color: '#12345g' }, 'accent_color'],
    [{ accent_color: 'ff8800' }, 'accent_color'],
    [{ accent_color: '#ff8800;background:url(x)' }, 'accent_color'],
  ];
  for (const [fields, field] of bad) {
    const c = await w.call('POST', '/v1/admin/apps', {
      token: w.bindings.ADMIN_TOKEN, json: { name: 'x', allowed_redirect_urls: ['https://app.example.com/done'], ...fields }, unchecked: true,
    });
    assert.equal(c.status, 400, `${JSON.stringify(fields)}: ${JSON.stringify(c.body)}`);
    assert.equal(c.body.error.code, 'invalid_request');
    assert.match(c.body.error.message, new RegExp(field));
    const p = await w.call('PATCH', `/v1/admin/apps/${app.id}`, { token: w.bindings.ADMIN_TOKEN, json: fields, unchecked: true });
    assert.equal(p.status, 400, `${JSON.stringify(fields)}: ${JSON.stringify(p.body)}`);
    assert.match(p.body.error.message, new RegExp(field));
  }
  // 100 characters (not bytes) is the bound.
  const ok = await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { display_name: 'é'.repeat(100) });
  assert.equal(ok.status, 200);
  await w.admin('PATCH', `/v1/admin/apps/${app.id}`, { display_name: null });
});

// --- Upload, replace, delete, and what is served ---

test('a logo is uploaded, served with its own headers, replaced under a new URL, and deleted', async () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">${SQUARE}</svg>`;
  const first = await uploaded(svg, 'image/svg+xml');
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, first);

  const served = await getLogo(first);
  assert.equal(served.status, 200);
  assert.equal(served.bytes.toString('utf8'), svg);
  assert.equal(served.headers.get('content-type'), 'image/svg+xml');
  assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(served.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'; sandbox");
  assert.equal(served.headers.get('content-disposition'), 'inline');
  assert.equal(served.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.equal(served.headers.get('set-cookie'), null);

  // The same content again: the same URL. New content: a new URL, and the old one is gone.
  assert.equal(await uploaded(svg, 'image/svg+xml'), first);
  const second = await uploaded(CLEAN_PNG, 'image/png');
  assert.notEqual(second, first);
  assert.equal((await getLogo(first)).status, 404);
  const p = await getLogo(second);
  assert.equal(p.status, 200);
  assert.equal(p.headers.get('content-type'), 'image/png');
  assert.deepEqual(p.bytes, CLEAN_PNG);

  // Other answers keep no-store; only the logo is cacheable.
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).headers.get('cache-control'), 'no-store');

  const del = await w.admin('DELETE', `/v1/admin/apps/${app.id}/logo`);
  assert.equal(del.status, 204);
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, null);
  const gone = await getLogo(second);
  assert.equal(gone.status, 404);
  assert.equal(gone.headers.get('cache-control'), 'no-store', 'a 404 is not cached');
  assert.equal((await w.admin('DELETE', `/v1/admin/apps/${app.id}/logo`)).status, 404, 'no logo to delete');
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM app_logos WHERE app_id = ?', app.id)).n, 0);
});

test('logo routes: unknown app, unknown file, wrong content type', async () => {
  assert.equal((await putLogo('app_nope', CLEAN_PNG, 'image/png')).status, 404);
  assert.equal((await w.row("SELECT COUNT(*) AS n FROM app_logos WHERE app_id = 'app_nope'")).n, 0, 'nothing stored for no app');
  assert.equal((await w.admin('DELETE', '/v1/admin/apps/app_nope/logo')).status, 404);
  assert.equal((await getLogo(`${w.base}/apps/app_nope/logo/0123456789abcdef.png`)).status, 404);
  const url = await uploaded(CLEAN_PNG, 'image/png');
  // The right hash under the other extension, or the right file under another app: 404.
  assert.equal((await getLogo(url.replace(/\.png$/, '.svg'))).status, 404);
  const other = (await w.createApp('Other')).app;
  assert.equal((await getLogo(url.replace(app.id, other.id))).status, 404);
  for (const type of ['text/html', 'image/gif', 'application/octet-stream', 'image/svg']) {
    const r = await w.call('PUT', `/v1/admin/apps/${app.id}/logo`, {
      token: w.bindings.ADMIN_TOKEN, raw: CLEAN_PNG, headers: { 'content-type': type }, unchecked: true,
    });
    assert.equal(r.status, 422, type);
    assert.equal(r.body.error.code, 'invalid_logo');
    assert.match(r.body.error.message, /image\/png or image\/svg\+xml/);
  }
  // A PNG sent as SVG (or the reverse) is refused, never served under the other type.
  assert.equal((await putLogo(app.id, CLEAN_PNG, 'image/svg+xml')).status, 422);
  assert.equal((await putLogo(app.id, `<svg>${SQUARE}</svg>`, 'image/png')).status, 422);
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, url, 'the refused uploads left the logo as it was');
});

test('only the operator uploads or deletes a logo (401 without the admin token, with an API key)', async () => {
  const url = await uploaded(CLEAN_PNG, 'image/png');
  const { api_key: apiKey } = await w.createApp('Tenant');
  const svg = `<svg>${SQUARE}</svg>`;
  for (const token of [undefined, apiKey, 'adm_wrong']) {
    const r = await w.call('PUT', `/v1/admin/apps/${app.id}/logo`, { token, raw: svg, headers: { 'content-type': 'image/svg+xml' } });
    assert.equal(r.status, 401, String(token));
    assert.equal((await w.call('DELETE', `/v1/admin/apps/${app.id}/logo`, { token })).status, 401);
  }
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, url, 'unchanged');
  assert.equal((await getLogo(url)).status, 200);
});

// --- The SVG attack corpus ---

const SVG_ATTACKS = [
  ['script element', `<svg><script>alert(document.domain)</script>${SQUARE}</svg>`],
  ['script in CDATA', `<svg><script><![CDATA[alert(1)]]></script>${SQUARE}</svg>`],
  ['namespaced script', `<svg xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script>${SQUARE}</svg>`],
  ['onload on the root', `<svg onload="alert(1)">${SQUARE}</svg>`],
  ['handlers on shapes', `<svg><g onclick="alert(1)" OnMouseOver="alert(2)"><rect width="1" height="1" onfocus="alert(3)"/></g></svg>`],
  ['foreignObject with HTML', `<svg><foreignObject width="10" height="10"><iframe xmlns="http://www.w3.org/1999/xhtml" src="javascript:alert(1)"></iframe></foreignObject>${SQUARE}</svg>`],
  ['style element with url()', `<svg><style>@import url(https://evil.example/x.css); rect { fill: url(https://evil.example/p) }</style>${SQUARE}</svg>`],
  ['style attribute with url()', `<svg><rect width="1" height="1" style="fill: url(https://evil.example/p)"/>${SQUARE}</svg>`],
  ['style attribute with an escaped url', `<svg><rect width="1" height="1" style="fill: u\\72l(https://evil.example/p)"/>${SQUARE}</svg>`],
  ['external use', `<svg><use href="https://evil.example/sprite.svg#icon"/>${SQUARE}</svg>`],
  ['xlink:href to javascript', `<svg xmlns:xlink="http://www.w3.org/1999/xlink"><use xlink:href="javascript:alert(1)"/>${SQUARE}</svg>`],
  ['href spelled with a character reference', `<svg><use href="&#106;avascript:alert(1)"/>${SQUARE}</svg>`],
  ['data: URI image', `<svg><image href="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"/>${SQUARE}</svg>`],
  ['link', `<svg><a href="https://evil.example/phish"><text x="1" y="9">click</text></a>${SQUARE}</svg>`],
  ['animation rewriting href', `<svg><a><animate attributeName="href" values="javascript:alert(1)"/><text>x</text></a><set attributeName="onload" to="alert(1)"/>${SQUARE}</svg>`],
  ['external fill', `<svg><rect width="1" height="1" fill="url(https://evil.example/p#x)"/>${SQUARE}</svg>`],
  ['feImage', `<svg><filter id="f"><feImage href="https://evil.example/track.png"/></filter>${SQUARE}</svg>`],
  ['stylesheet processing instruction', `<?xml-stylesheet type="text/css" href="https://evil.example/x.css"?><svg>${SQUARE}</svg>`],
  ['comment hiding markup', `<svg><!--<script>alert(1)</script>-->${SQUARE}</svg>`],
];
const BAD_WORDS = ['script', 'alert', 'onload', 'onclick', 'onmouseover', 'onfocus', 'foreignobject', 'iframe', '<style', 'evil', 'javascript', 'data:', '<image', '<a', '<animate', '<set', 'feimage', 'stylesheet', '<!--', '<?'];

test('SVG attacks are served stripped: the bytes served hold none of them, the drawing stays', async () => {
  for (const [what, svg] of SVG_ATTACKS) {
    const r = await putLogo(app.id, svg, 'image/svg+xml');
    assert.equal(r.status, 200, `${what}: ${JSON.stringify(r.body)}`);
    const served = await getLogo(r.body.logo_url);
    assert.equal(served.status, 200, what);
    const text = served.bytes.toString('utf8');
    for (const bad of BAD_WORDS) assert.ok(!text.toLowerCase().includes(bad), `${what}: the served SVG holds ${bad}: ${text}`);
    assert.ok(text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'), `${what}: ${text}`);
    assert.ok(text.includes('<rect'), `${what}: the drawing stays: ${text}`);
  }
  // One served exactly: only what the allowlist names, re-escaped.
  const r = await putLogo(app.id, `<svg viewBox="0 0 9 9" onload="alert(1)"><script>x</script><text x="1" y="2">A &amp; B</text></svg>`, 'image/svg+xml');
  const served = await getLogo(r.body.logo_url);
  assert.equal(served.bytes.toString('utf8'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 9 9"><text x="1" y="2">A &amp; B</text></svg>');
});

test('SVGs that do not parse, declare a DOCTYPE or entities, or keep nothing drawable are refused (422)', async () => {
  const before = (await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url;
  const refused = [
    ['billion laughs', `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><svg><text>&lol2;</text>${SQUARE}</svg>`, /DOCTYPE/],
    ['external entity', `<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><svg><text>&xxe;</text>${SQUARE}</svg>`, /DOCTYPE/],
    ['a plain DOCTYPE', `<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg>${SQUARE}</svg>`, /DOCTYPE/],
    ['an undeclared entity', `<svg><text>&xxe;</text>${SQUARE}</svg>`, /well-formed/],
    ['unclosed', `<svg>${SQUARE}`, /well-formed/],
    ['mismatched tags', `<svg><g>${SQUARE}</svg></g>`, /well-formed/],
    ['two roots', `<svg>${SQUARE}</svg><svg>${SQUARE}</svg>`, /root/],
    ['an HTML root', `<html><body><svg>${SQUARE}</svg></body></html>`, /root/],
    ['text after the root', `<svg>${SQUARE}</svg><script>alert(1)</script>`, /root|well-formed/],
    ['not UTF-8', Buffer.from([0x3c, 0x73, 0x76, 0x67, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x73, 0x76, 0x67, 0x3e]), /UTF-8/],
    ['only a script', '<svg><script>alert(1)</script></svg>', /nothing drawable/],
    ['only foreign content', '<svg><foreignObject><rect/></foreignObject></svg>', /nothing drawable/],
    ['empty', '', /empty/],
  ];
  for (const [what, body, message] of refused) {
    const r = await putLogo(app.id, body, 'image/svg+xml');
    assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'invalid_logo', what);
    assert.match(r.body.error.message, message, what);
  }
  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, before, 'refused uploads change nothing');
});

// --- The PNG attack corpus ---

test('PNG metadata and payload chunks are dropped: the served bytes are the drawing chunks only', async () => {
  const html = Buffer.from('<html><script>alert(document.domain)</script></html>');
  const dirty = png(
    ihdr(1, 1),
    chunk('tEXt', Buffer.concat([Buffer.from('Comment\0'), html])),
    chunk('zTXt', Buffer.concat([Buffer.from('Author\0\0'), zlib.deflateSync(html)])),
    chunk('iTXt', Buffer.concat([Buffer.from('XML:com.adobe.xmp\0\0\0\0\0'), html])),
    chunk('eXIf', Buffer.from('MM\0*\0\0\0\x08GPS 48.85N 2.35E')),
    chunk('iCCP', Buffer.concat([Buffer.from('icc\0\0'), zlib.deflateSync(Buffer.alloc(16))])),
    chunk('prVt', html),
    IDAT,
    chunk('IEND'),
  );
  const r = await putLogo(app.id, dirty, 'image/png');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const served = await getLogo(r.body.logo_url);
  assert.deepEqual(served.bytes, CLEAN_PNG);
  assert.ok(!served.bytes.includes('script') && !served.bytes.includes('GPS'));
  // A palette image keeps PLTE and tRNS.
  const palette = png(ihdr(1, 1, 8, 3), chunk('PLTE', Buffer.from([1, 2, 3])), chunk('tRNS', Buffer.from([0])), IDAT, chunk('IEND'));
  const p = await putLogo(app.id, palette, 'image/png');
  assert.deepEqual((await getLogo(p.body.logo_url)).bytes, palette);
});

test('malformed PNGs are refused (422), with what is wrong', async () => {
  const badCrc = Buffer.from(CLEAN_PNG);
  badCrc[badCrc.length - 13] ^= 1;
  const longChunk = Buffer.from(CLEAN_PNG);
  longChunk.writeUInt32BE(0x7fffffff, 8);
  const refused = [
    ['no signature', Buffer.from('GIF89a\x01\x00\x01\x00'), /signature/],
    ['an HTML file', Buffer.from('<html><script>alert(1)</script></html>'), /signature/],
    ['a bad CRC', badCrc, /CRC/],
    ['a chunk longer than the body', longChunk, /ends inside/],
    ['truncated', CLEAN_PNG.subarray(0, CLEAN_PNG.length - 3), /ends inside/],
    ['a polyglot tail after IEND', Buffer.concat([CLEAN_PNG, Buffer.from('<script>alert(1)</script>')]), /after its IEND/],
    ['IDAT before IHDR', png(IDAT, ihdr(1, 1), chunk('IEND')), /IHDR must come first/],
    ['too wide', png(ihdr(1025, 1), IDAT, chunk('IEND')), /1024/],
    ['too tall', png(ihdr(1, 2 ** 31 - 1), IDAT, chunk('IEND')), /1024/],
    ['no image data', png(ihdr(1, 1), chunk('IEND')), /IDAT/],
    ['split IDAT run', png(ihdr(1, 1), IDAT, chunk('tEXt', Buffer.from('a\0b')), IDAT, chunk('IEND')), /follow one another/],
    ['unknown critical chunk', png(ihdr(1, 1), chunk('CgBI', Buffer.alloc(4)), IDAT, chunk('IEND')), /critical/],
    ['bad bit depth', png(ihdr(1, 1, 3, 6), IDAT, chunk('IEND')), /IHDR/],
  ];
  for (const [what, body, message] of refused) {
    const r = await putLogo(app.id, body, 'image/png');
    assert.equal(r.status, 422, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.error.code, 'invalid_logo');
    assert.match(r.body.error.message, message, what);
  }
});

// --- The size cap ---

/** A valid SVG of exactly `size` bytes (spaces inside the root, which are not kept). */
const svgOfSize = (size) => {
  const head = `<svg>${SQUARE}`;
  const tail = '</svg>';
  return head + ' '.repeat(size - head.length - tail.length) + tail;
};

test('32 KiB is taken; 32 KiB + 1 is refused (413), declared or counted, whatever Content-Length says', async () => {
  // The body is read through the API's 64 KiB cap, counted as it streams in; the logo's
  // 32 KiB is checked on the bytes read.
  const fits = await putLogo(app.id, svgOfSize(32 * KiB), 'image/svg+xml');
  assert.equal(fits.status, 200, JSON.stringify(fits.body));
  const url = fits.body.logo_url;

  const over = await putLogo(app.id, svgOfSize(32 * KiB + 1), 'image/svg+xml');
  assert.equal(over.status, 413);
  assert.equal(over.body.error.code, 'payload_too_large');
  assert.match(over.body.error.message, /32 KiB/);

  // Streamed with no Content-Length: counted as it comes.
  const body = Buffer.from(svgOfSize(32 * KiB + 1));
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < body.length; i += 4096) c.enqueue(body.subarray(i, i + 4096));
      c.close();
    },
  });
  const res = await fetch(`${w.base}/v1/admin/apps/${app.id}/logo`, {
    method: 'PUT', body: stream, duplex: 'half',
    headers: { authorization: `Bearer ${w.bindings.ADMIN_TOKEN}`, 'content-type': 'image/svg+xml' },
  });
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.code, 'payload_too_large');

  // A Content-Length that lies (100) next to a chunked body of 32 KiB + 1, and of 70 KiB:
  // workerd hands the worker both the header and the chunked body; the count refuses them,
  // the longer one while it is read (the 64 KiB cap), not after reading it whole.
  const lies = { 'content-length': '100', 'transfer-encoding': 'chunked' };
  const lied = await rawPut(`/v1/admin/apps/${app.id}/logo`, body, lies);
  assert.equal(lied.status, 413, lied.text);
  assert.match(lied.text, /"payload_too_large","message":"the logo is over 32 KiB"/);
  const long = await rawPut(`/v1/admin/apps/${app.id}/logo`, Buffer.from(svgOfSize(70 * KiB)), lies);
  assert.equal(long.status, 413, long.text);
  assert.match(long.text, /"payload_too_large","message":"request body is over 64 KiB"/);

  assert.equal((await w.admin('GET', `/v1/admin/apps/${app.id}`)).body.logo_url, url, 'none of them replaced the logo');
});

/** A PUT written on a socket of its own, `headers` as given (the body sent chunked). */
function rawPut(path, body, headers) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(w.base);
    const socket = net.connect(Number(port), hostname);
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', (e) => (chunks.length ? null : reject(e)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(text.split(' ')[1]), text });
    });
    const lines = [
      `PUT ${path} HTTP/1.1`, `host: ${hostname}:${port}`, `authorization: Bearer ${w.bindings.ADMIN_TOKEN}`,
      'content-type: image/svg+xml', 'connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', '',
    ];
    socket.write(lines.join('\r\n'));
    for (let i = 0; i < body.length; i += 4096) {
      const part = body.subarray(i, i + 4096);
      socket.write(`${part.length.toString(16)}\r\n`);
      socket.write(part);
      socket.write('\r\n');
    }
    socket.end('0\r\n\r\n');
  });
}

// --- The brand on the hosted pages ---

test('the hosted pages show the brand: display name, the served logo and the accent sheet', async () => {
  const made = await w.createApp('acme-internal-2');
  const id = made.app.id;
  const p = await w.admin('PATCH', `/v1/admin/apps/${id}`, { display_name: 'Acme Posts', accent_color: '#FFEB3B' });
  assert.equal(p.status, 200, JSON.stringify(p.body));
  const logo = await putLogo(id, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">${SQUARE}</svg>`, 'image/svg+xml');
  assert.equal(logo.status, 200, JSON.stringify(logo.body));
  const link = await w.createLink(made.api_key);
  const open = await fetch(link.url, { redirect: 'manual' });
  assert.equal(open.status, 302);
  const page = await fetch(open.headers.get('location'));
  const html = await page.text();
  assert.match(html, /<h1>Acme Posts wants to use your Sandbox account<\/h1>/);
  assert.doesNotMatch(html, /acme-internal-2/, 'the display name, not the internal name');
  // The logo by its same-origin path (the page policy loads images from this worker only).
  const path = new URL(logo.body.logo_url).pathname;
  assert.ok(html.includes(`src="${path}"`), 'the logo is shown');
  const served = await fetch(`${w.base}${path}`);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('content-type'), 'image/svg+xml');
  // The accent's sheet, with black text on this light yellow (white would not be readable).
  const sheet = /<link rel="stylesheet" href="(\/assets\/accent\/[0-9a-f]{6}\.css)">/.exec(html)?.[1];
  assert.equal(sheet, '/assets/accent/ffeb3b.css');
  const css = await fetch(`${w.base}${sheet}`);
  assert.equal(await css.text(), ':root{--accent:#ffeb3b;--on-accent:#000000}\n');
});

test('every table under apps, app_logos too, goes with its app (ON DELETE CASCADE)', async () => {
  const tables = (await w.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all()).results.map((r) => r.name);
  const under = [];
  for (const t of tables) {
    for (const fk of (await w.db.prepare(`PRAGMA foreign_key_list("${t}")`).all()).results) {
      if (fk.table === 'apps') under.push(`${t}.${fk.from}: ${fk.on_delete}`);
    }
  }
  assert.ok(under.some((u) => u.startsWith('app_logos.app_id')), under.join('\n'));
  assert.deepEqual(under.filter((u) => !u.endsWith(': CASCADE')), [], 'a row under an app that would outlive it');
  // And an app deleted (by an operator, in D1) takes its logo with it.
  const doomed = (await w.createApp('doomed')).app;
  assert.equal((await putLogo(doomed.id, `<svg viewBox="0 0 10 10">${SQUARE}</svg>`, 'image/svg+xml')).status, 200);
  await w.db.prepare('DELETE FROM apps WHERE id = ?').bind(doomed.id).run();
  assert.equal((await w.row('SELECT COUNT(*) AS n FROM app_logos WHERE app_id = ?', doomed.id)).n, 0);
});

test('a branded app is named on the account picker and on the expired-link page too, never by its internal name', async () => {
  const made = await w.createApp('acme-internal-3');
  const id = made.app.id;
  assert.equal((await w.admin('PATCH', `/v1/admin/apps/${id}`, { display_name: 'Acme Posts' })).status, 200);
  // The sandbox login has three accounts: after consent, the picker.
  const link = await w.createLink(made.api_key);
  const { back } = await w.consent(link);
  const picker = await w.fetchChecked(back.toString(), { redirect: 'manual' });
  assert.equal(picker.status, 200);
  const pickerHtml = await picker.text();
  assert.match(pickerHtml, /name="account"/, 'the account picker');
  assert.ok(pickerHtml.includes('Acme Posts'), 'the picker names the app');
  assert.doesNotMatch(pickerHtml, /acme-internal-3/);
  // A link past its 10 minutes: the error page names the app that asked.
  const late = await w.createLink(made.api_key);
  await w.db.prepare('UPDATE connect_links SET expires_at = ? WHERE id = ?').bind(Math.floor(Date.now() / 1000) - 1, late.id).run();
  const expired = await w.fetchChecked(late.url, { redirect: 'manual' });
  assert.equal(expired.status, 410);
  const expiredHtml = await expired.text();
  assert.ok(expiredHtml.includes('Acme Posts'), expiredHtml);
  assert.doesNotMatch(expiredHtml, /acme-internal-3/);
});

test("the consent page and the account picker show the platform's icon, served by the worker", async () => {
  const made = await w.createApp('icons');
  const link = await w.createLink(made.api_key);
  const consent = await w.fetchChecked(link.authorize_url, { redirect: 'manual' });
  assert.equal(consent.status, 200);
  const consentHtml = await consent.text();
  assert.match(consentHtml, /<img class="mark" src="\/assets\/icons\/sandbox\.svg" alt="" width="32" height="32">/);
  const { back } = await w.consent(link);
  const picker = await w.fetchChecked(back.toString(), { redirect: 'manual' });
  assert.equal(picker.status, 200);
  assert.match(await picker.text(), /<img class="mark" src="\/assets\/icons\/sandbox\.svg"/);
  const icon = await fetch(`${w.base}/assets/icons/sandbox.svg`);
  assert.equal(icon.status, 200);
  assert.match(icon.headers.get('content-type'), /^image\/svg\+xml/);
  assert.match(await icon.text(), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
});
