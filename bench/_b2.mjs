import http from 'node:http';
import { startWorker } from '../tests/e2e/harness.mjs';
import { PlatformMocks, credentialVars } from '../tests/e2e/platform-mocks.mjs';
const mocks = new PlatformMocks();
mocks.api = async (request, url) => (url.pathname === '/2/tweets/search/recent' ? new Response('{"a":1}', {headers:{'content-type':'application/json'}}) : undefined);
const w = await startWorker({ vars: credentialVars(['x']), outbound: (req) => mocks.answer(req), captureLogs: true });
const app = (await w.admin('POST', '/v1/admin/apps', { name: 'B', allowed_redirect_urls: ['https://a.example.com/d'] })).body;
const { q } = await w.connectWithMock(mocks, app.api_key, 'x', { user: 'b', redirect: 'https://a.example.com/d' });
const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
const port = Number(new URL(w.base).port);
const get = (path, headers) => new Promise((res, rej) => { const r = http.request({ host: '127.0.0.1', port, path, headers, agent }, (x) => { x.resume(); x.on('end', () => res(x.statusCode)); }); r.on('error', rej); r.end(); });
async function round(path, headers) { let n = 0; const end = performance.now() + 4000; await Promise.all(Array.from({ length: 10 }, async () => { while (performance.now() < end) { await get(path, headers); n++; } })); return n / 4; }
const h = { authorization: `Bearer ${app.api_key}` };
console.log('health', await round('/health', {}));
console.log('profile', await round(`/v1/profiles/${q.profile_id}`, h));
console.log('proxy', await round(`/v1/profiles/${q.profile_id}/proxy/2/tweets/search/recent?query=a`, h));
await w.stop();
