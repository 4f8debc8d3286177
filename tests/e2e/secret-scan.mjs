// The end-of-file scan for secrets of the platform-credentials tests: every answer the file's
// worker gave (recorded as the tests go), every line it logged and every text column of
// every D1 table, searched for every secret the file used, in each form it travels in
// (plain, URL-encoded, inside HTTP Basic).
import assert from 'node:assert/strict';

/**
 * Records the status line, `location` and body of every answer `w.call` (and so `w.admin`)
 * and `w.fetchChecked` (the browser's steps: callbacks, pickers) return from now on.
 * Returns the list the answers go to.
 */
export function recordAnswers(w) {
  const answers = [];
  const call = w.call.bind(w);
  w.call = async (...args) => {
    const r = await call(...args);
    answers.push(`${args[0]} ${args[1]} -> ${r.status} ${r.headers.get('location') ?? ''} ${r.text}`);
    return r;
  };
  const fetchChecked = w.fetchChecked.bind(w);
  w.fetchChecked = async (url, init) => {
    const res = await fetchChecked(url, init);
    answers.push(`${init?.method ?? 'GET'} ${url} -> ${res.status} ${res.headers.get('location') ?? ''} ${await res.clone().text()}`);
    return res;
  };
  return answers;
}

/**
 * A `fetch` that records each answer (status, headers and body) in `answers`, for a call the
 * test makes itself (a proxied call, whose answer is the platform's and not in the document).
 */
export function recordingFetch(answers) {
  return async (url, init = {}) => {
    const res = await fetch(url, init);
    const headers = [...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n');
    answers.push(`${init.method ?? 'GET'} ${url} -> ${res.status}\n${headers}\n${await res.clone().text()}`);
    return res;
  };
}

/** The forms `secret` of client `id` travels in: plain, URL-encoded, and HTTP Basic's base64 of the pair. */
function formsOf({ id, secret }) {
  const forms = [secret, encodeURIComponent(secret)];
  if (id !== undefined) forms.push(Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64'));
  return [...new Set(forms)];
}

/** Fails naming `where` and the line of `text` holding a form of a secret of `secrets`. */
function assertNoneIn(text, secrets, where) {
  for (const s of secrets) {
    for (const form of formsOf(s)) {
      if (!text.includes(form)) continue;
      const line = text.split('\n').find((l) => l.includes(form)) ?? '';
      assert.fail(`${where} holds ${s.what ?? 'a secret'} (${form === s.secret ? 'plain' : 'encoded'}): ${line.slice(0, 300)}`);
    }
  }
}

/** Waits until the worker's log has not grown for `quietMs` (work after an answer logs late). */
async function logsQuiet(w, quietMs = 300, maxMs = 5000) {
  const end = Date.now() + maxMs;
  let size = -1;
  while (Date.now() < end) {
    const now = w.logs.reduce((n, s) => n + s.length, 0);
    if (now === size) return;
    size = now;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

/**
 * Asserts that none of `answered` (client and credential webhook secrets: `{ id?, secret, what }`)
 * is in any recorded answer, log line or D1 text, and none of `kept` (secrets the worker
 * answers once by design but must never log or store in the clear: an app's webhook secret,
 * the platform's tokens) is in a log line or D1.
 */
export async function assertNoSecretsAnywhere(w, { answers, answered, kept = [] }) {
  await w.settled();
  await logsQuiet(w);
  assert.ok(answers.length > 0, 'answers were recorded');
  assert.ok(w.logs.length > 0, 'the worker logged (captureLogs)');
  assert.ok(answered.length > 0, 'secrets to look for');
  for (const [i, a] of answers.entries()) assertNoneIn(a, answered, `answer ${i} (${a.slice(0, 80)})`);
  assertNoneIn(w.logs.join(''), [...answered, ...kept], "the worker's log");
  const stored = await w.allStoredText();
  assert.ok(stored.some((s) => s.table === 'platform_credentials'), 'D1 holds credentials to scan');
  for (const { table, value } of stored) assertNoneIn(value, [...answered, ...kept], `D1 table ${table}`);
}
