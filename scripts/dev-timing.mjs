#!/usr/bin/env node
// `make bench`'s dev-loop figures: how long `make dev` takes from its start to the first 200
// from GET /health, (a) once to warm up when build/ does not hold an up-to-date dev build,
// (b) when nothing changed (target: <= 10 s), (c) after touching core/src/lib.rs and (d) after
// touching src/lib.rs (each a rebuild). Each `make dev` runs in its own session (setsid) on a
// free port and is stopped by process group; the script checks that none of its processes
// (make, node, wrangler, workerd) is left, gives each touched file its mtime back, and
// leaves .dev-app.json as it found it.
//   node scripts/dev-timing.mjs [--unchanged-only]
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP, inputsHash } from './build-stamp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_S = 10;
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };
delete env.MAKEFLAGS; // `make bench` runs us; each `make dev` is a top-level make of its own
delete env.MAKELEVEL;
const log = path.join(os.tmpdir(), `connect-links-dev-timing-${process.pid}.log`);

const listening = (port) => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); });
  s.once('error', () => resolve(false));
});
const bindable = (port) => new Promise((resolve) => {
  const s = net.createServer();
  s.once('error', () => resolve(false));
  s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
});
/** A port P with P and P + 1 (the demo app) both free. */
async function freePort() {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (await bindable(p) && await bindable(p + 1)) return p;
  }
  throw new Error('no free port pair found');
}

/** pid -> { ppid, pgid, state } for every process now. */
function processes() {
  const all = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      all.set(Number(d), { state: f[0], ppid: Number(f[1]), pgid: Number(f[2]) });
    } catch {} // gone meanwhile
  }
  return all;
}
/** `pid` and all its live descendants. */
function tree(pid) {
  const all = processes();
  const out = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, i] of all) if (!out.has(p) && out.has(i.ppid)) { out.add(p); grew = true; }
  }
  return out;
}
const alive = (pids, pgids) => [...processes()].filter(([p, i]) => i.state !== 'Z' && (pids.has(p) || pgids.has(i.pgid)));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs `make dev` until GET /health answers 200; returns the seconds it took. Stops it after. */
async function timeMakeDev(label) {
  const port = await freePort();
  const out = fs.openSync(log, 'w');
  const t0 = performance.now();
  // detached: the child calls setsid(), so make and all it starts share one process group.
  const child = spawn('make', ['dev', `PORT=${port}`], { cwd: root, env, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  const exited = new Promise((r) => child.once('exit', r));
  let ended = false;
  exited.then(() => { ended = true; });
  // Every process of the run, with its group (wrangler dev runs in a group of its own).
  const pids = new Set();
  const pgids = new Set([child.pid]);
  const record = () => { for (const p of tree(child.pid)) { pids.add(p); const i = processes().get(p); if (i) pgids.add(i.pgid); } };
  let secs = null;
  try {
    for (let i = 0; !ended && i < 9000; i++) { // 15 minutes at most (a cold build)
      if (i % 10 === 0) record();
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
        if (r.status === 200) { secs = (performance.now() - t0) / 1000; break; }
      } catch {}
      await sleep(100);
    }
    record();
  } finally {
    await stop(child, exited, pids, pgids, port);
  }
  if (secs === null) {
    const tail = fs.readFileSync(log, 'utf8').split('\n').slice(-30).join('\n');
    throw new Error(`${label}: make dev never answered 200 on /health; its last output:\n${tail}`);
  }
  fs.rmSync(log, { force: true });
  return secs;
}

async function stop(child, exited, pids, pgids, port) {
  // make's group first: scripts/dev.mjs stops wrangler's group on SIGTERM; then any group left.
  for (const g of [child.pid, ...pgids]) { try { process.kill(-g, 'SIGTERM'); } catch {} }
  for (let i = 0; i < 100 && alive(pids, pgids).length; i++) await sleep(100);
  for (const [p, i] of alive(pids, pgids)) { try { process.kill(-i.pgid, 'SIGKILL'); } catch {} try { process.kill(p, 'SIGKILL'); } catch {} }
  await Promise.race([exited, sleep(5000)]);
  await sleep(200);
  const left = alive(pids, pgids);
  if (left.length) throw new Error(`processes left after make dev: ${left.map(([p]) => p).join(', ')}`);
  if (await listening(port)) throw new Error(`port ${port} still answers after make dev stopped`);
}

/** Touches `rel` (mtime now), runs `fn`, then gives the file its exact atime and mtime back. */
async function touched(rel, fn) {
  const file = path.join(root, rel);
  const s = fs.statSync(file, { bigint: true });
  const stamp = (ns) => `@${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
  const restore = () => {
    execFileSync('touch', ['-a', '-d', stamp(s.atimeNs), file]);
    execFileSync('touch', ['-m', '-d', stamp(s.mtimeNs), file]);
  };
  process.once('SIGINT', () => { restore(); process.exit(130); });
  fs.utimesSync(file, new Date(), new Date());
  try { return await fn(); } finally {
    restore();
    if (fs.statSync(file, { bigint: true }).mtimeNs !== s.mtimeNs) console.error(`could not restore the mtime of ${rel}`);
  }
}

const fmt = (s) => `${s.toFixed(1)} s`;
const upToDateDev = () => {
  try { const line = fs.readFileSync(STAMP, 'utf8').trim(); return line.startsWith('dev ') && line.endsWith(`inputs=${inputsHash()}`); } catch { return false; }
};

// `make dev` on a random port saves a dev app whose redirect URL names that port in
// .dev-app.json; the developer's own file (or its absence) is put back when we are done.
const appFile = path.join(root, '.dev-app.json');
const savedApp = fs.existsSync(appFile) ? fs.readFileSync(appFile) : null;
const putBackApp = () => { if (savedApp) fs.writeFileSync(appFile, savedApp, { mode: 0o600 }); else fs.rmSync(appFile, { force: true }); };
process.on('exit', putBackApp);

if (!upToDateDev()) {
  const s = await timeMakeDev('warm-up');
  console.log(`make dev, warm-up (a dev build was due): first answer in ${fmt(s)}`);
}
const unchanged = await timeMakeDev('nothing changed');
console.log(`make dev, nothing changed: first answer in ${fmt(unchanged)} (target <= ${TARGET_S} s): ${unchanged <= TARGET_S ? 'met' : 'NOT met'}`);
if (!process.argv.includes('--unchanged-only')) {
  for (const rel of ['core/src/lib.rs', 'src/lib.rs']) {
    const s = await touched(rel, () => timeMakeDev(`after touching ${rel}`));
    console.log(`make dev after touching ${rel} (a rebuild): first answer in ${fmt(s)}`);
  }
}
