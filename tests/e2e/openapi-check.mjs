// Checks the worker's answers against openapi/openapi.json (OpenAPI 3.1): the operation is
// documented, the status is one of its responses, the content type is the documented one and
// a JSON body validates against the response's schema (JSON Schema 2020-12, with Ajv).
// `checkAnswer` throws an Error saying what does not match; `checkWebhook` does the same for a
// delivered webhook body against the document's `webhooks` entry for its `type`.
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DOC_PATH = path.join(root, 'openapi/openapi.json');
let docPath = DOC_PATH;
// The document is added to Ajv under this id; every schema is reached by a reference into it,
// so its own `#/components/...` references resolve within it.
const DOC_ID = 'https://connect-links.invalid/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let state; // { doc, ajv, routes, validators } once loaded

/** Loads (once) the document; a missing or unparsable one is a clear error. */
function load() {
  if (state) return state;
  let doc;
  try {
    doc = JSON.parse(fs.readFileSync(docPath, 'utf8'));
  } catch (e) {
    throw new Error(`openapi-check: cannot load ${path.relative(root, docPath)}: ${e.message}`);
  }
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  // The document as one schema (not itself checked against the meta-schema: it is a document).
  ajv.addSchema({ ...doc, $id: DOC_ID }, undefined, undefined, false);
  const routes = Object.keys(doc.paths || {}).map((template) => ({ template, ...compileTemplate(template) }));
  // The most specific template first: fewer parameters, then more literal characters.
  routes.sort((a, b) => a.params - b.params || b.literal - a.literal);
  state = { doc, ajv, routes, validators: new Map() };
  return state;
}

/** Checks against the document at `file` from now on (the checker's own self-check). */
export function useDocument(file = DOC_PATH) {
  docPath = file;
  state = undefined;
}

/**
 * A path template as a regex: `{name}` is one segment, except a proxy route's last parameter
 * (`.../proxy/{path}`), which is the whole rest of the path (slashes included).
 */
function compileTemplate(template) {
  let params = 0;
  let literal = 0;
  const parts = template.split(/(\{[^}]+\})/);
  const src = parts
    .map((part, i) => {
      if (/^\{[^}]+\}$/.test(part)) {
        params += 1;
        const rest = i === parts.length - 2 && parts[parts.length - 1] === '' && /\/proxy\/$/.test(parts[i - 1] || '');
        return rest ? '(.+)' : '([^/]+)';
      }
      literal += part.length;
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return { re: new RegExp(`^${src}$`), params, literal, proxy: /\/proxy\/\{[^}]+\}$/.test(template) };
}

/** The documented route of a concrete path (query string and fragment ignored), or null. */
export function findRoute(concretePath) {
  const p = String(concretePath).replace(/[?#].*$/s, '');
  return load().routes.find((r) => r.re.test(p)) || null;
}

/** The tokens of a local reference (`#/components/responses/Error`). */
function refTokens(ref) {
  if (!ref.startsWith('#/')) throw new Error(`openapi-check: only local references are supported, not ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((t) => decodeURIComponent(t).replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Walks the document along `tokens`, following a `$ref` met on the way (a path item, a
 * response, a request body reused from `components`): { node, tokens } where `tokens` is the
 * node's own place (so a schema under it is compiled where it is, its references resolving).
 * Not for walking into schemas (a schema's `$ref` is Ajv's to follow).
 */
function at(tokens) {
  const { doc } = load();
  let node = doc;
  let here = [];
  const follow = () => {
    for (let hops = 0; node && typeof node === 'object' && typeof node.$ref === 'string'; hops += 1) {
      if (hops > 20) throw new Error(`openapi-check: a reference loop at ${pointer(here)}`);
      here = refTokens(node.$ref);
      node = here.reduce((o, k) => (o == null ? undefined : o[k]), doc);
      if (node === undefined) throw new Error(`openapi-check: unresolved reference to ${pointer(here)}`);
    }
  };
  for (const t of tokens) {
    follow();
    node = node == null ? undefined : node[t];
    here = [...here, t];
  }
  follow();
  return { node, tokens: here };
}

/** A JSON pointer (as a URI fragment) from its tokens. */
function pointer(tokens) {
  return '#/' + tokens.map((t) => encodeURIComponent(String(t).replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
}

/** The validator of the schema at `tokens` in the document (cached). */
function validatorAt(tokens) {
  const { ajv, validators } = load();
  const ref = DOC_ID + pointer(tokens);
  let v = validators.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: ref });
    validators.set(ref, v);
  }
  return v;
}

/** The media type alone, lowercased (`application/json; charset=utf-8` -> `application/json`). */
function mediaType(ct) {
  return ct ? String(ct).split(';')[0].trim().toLowerCase() : '';
}

function isJsonMedia(mt) {
  return mt === 'application/json' || /^application\/[^/]+\+json$/.test(mt);
}

/** The documented media type key matching `mt` (exact, then `type/*`, then `*\/*`). */
function matchMedia(content, mt) {
  const keys = Object.keys(content);
  return (
    keys.find((k) => mediaType(k) === mt) ||
    keys.find((k) => mediaType(k) === `${mt.split('/')[0]}/*`) ||
    keys.find((k) => mediaType(k) === '*/*')
  );
}

function describe(body) {
  const s = typeof body === 'string' ? body : JSON.stringify(body);
  return s === undefined ? String(body) : s.length > 600 ? `${s.slice(0, 600)}...` : s;
}

function ajvErrors(errors) {
  return (errors || [])
    .slice(0, 10)
    .map((e) => `  ${e.instancePath || '(root)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''} [${e.schemaPath}]`)
    .join('\n');
}

/** Whether an answer's body is the worker's own error object. */
function isWorkerError(body) {
  return !!body && typeof body === 'object' && !Array.isArray(body) && !!body.error && typeof body.error === 'object' && typeof body.error.code === 'string';
}

/**
 * Checks one answer of the worker against the document; throws an Error saying what does not
 * match. `body` is the parsed JSON body (or the text when it is not JSON; null or '' when
 * empty); `text`, when given, is the raw body (to tell an empty body from a JSON `null`).
 */
export function checkAnswer({ method, path: concretePath, status, contentType, body, text }) {
  const m = String(method).toLowerCase();
  const where = `${String(method).toUpperCase()} ${concretePath} -> ${status}`;
  const route = findRoute(concretePath);
  if (!route) throw new Error(`OpenAPI: ${where}: the path is not documented in openapi/openapi.json`);
  const item = at(['paths', route.template]).node;
  if (!METHODS.includes(m) || !item[m]) {
    throw new Error(`OpenAPI: ${where}: ${String(method).toUpperCase()} is not documented for ${route.template} (documented: ${METHODS.filter((x) => item[x]).join(', ').toUpperCase() || 'none'})`);
  }
  const responsesAt = at(['paths', route.template, m, 'responses']);
  const responses = responsesAt.node || {};
  const code = String(status);
  const rangeKey = `${code[0]}XX`;
  const key = [code, rangeKey, rangeKey.toLowerCase(), 'default'].find((k) => Object.hasOwn(responses, k));
  if (!key) {
    throw new Error(`OpenAPI: ${where}: status ${status} is not documented for ${String(method).toUpperCase()} ${route.template} (documented: ${Object.keys(responses).join(', ')}); body: ${describe(body)}`);
  }
  // A proxied answer is whatever the platform says: only the worker's own errors are checked,
  // and only with a status the document gives the route explicitly.
  if (route.proxy) {
    const own = key !== 'default' && mediaType(contentType) === 'application/json' && isWorkerError(body);
    if (!own) return { template: route.template, response: key, checked: false };
  }
  const contentAt = at([...responsesAt.tokens, key, 'content']);
  const content = contentAt.node || {};
  const empty = text !== undefined ? text === '' : body === null || body === undefined || body === '';
  if (Object.keys(content).length === 0) {
    if (!empty) throw new Error(`OpenAPI: ${where}: the documented response (${key}) has no content, but the answer has a body (${contentType || 'no content-type'}): ${describe(body)}`);
    return { template: route.template, response: key, checked: true };
  }
  const mt = mediaType(contentType);
  const mediaKey = mt && matchMedia(content, mt);
  if (!mediaKey) {
    throw new Error(`OpenAPI: ${where}: content type ${contentType ? `"${contentType}"` : '(none)'} is not the documented one for response ${key} (${Object.keys(content).join(', ')}); body: ${describe(body)}`);
  }
  const media = content[mediaKey];
  if (!media.schema || !isJsonMedia(mt)) return { template: route.template, response: key, checked: true };
  if (typeof body === 'string' || body === undefined || (empty && text !== undefined)) {
    throw new Error(`OpenAPI: ${where}: a ${mt} answer whose body is not JSON: ${describe(body)}`);
  }
  const validate = validatorAt([...at([...contentAt.tokens, mediaKey]).tokens, 'schema']);
  if (!validate(body)) {
    throw new Error(`OpenAPI: ${where}: the body does not match the schema of response ${key} of ${String(method).toUpperCase()} ${route.template}:\n${ajvErrors(validate.errors)}\nbody: ${describe(body)}`);
  }
  return { template: route.template, response: key, checked: true };
}

/**
 * Checks a delivered webhook body (`{type, timestamp, data}`, parsed) against the document's
 * `webhooks[type]` entry (its POST request body's JSON schema); throws when it does not match.
 */
export function checkWebhook(event) {
  const { doc } = load();
  const type = event && event.type;
  const hooks = doc.webhooks || {};
  if (typeof type !== 'string' || !Object.hasOwn(hooks, type)) {
    throw new Error(`OpenAPI: webhook ${JSON.stringify(type)} is not documented under webhooks (documented: ${Object.keys(hooks).join(', ') || 'none'})`);
  }
  const op = at(['webhooks', type, 'post']);
  if (!op.node || !op.node.requestBody) throw new Error(`OpenAPI: webhook ${type} has no documented POST request body`);
  const content = at([...op.tokens, 'requestBody', 'content']);
  const mediaKey = content.node && matchMedia(content.node, 'application/json');
  if (!mediaKey || !content.node[mediaKey].schema) throw new Error(`OpenAPI: webhook ${type} has no application/json schema`);
  const validate = validatorAt([...at([...content.tokens, mediaKey]).tokens, 'schema']);
  if (!validate(event)) {
    throw new Error(`OpenAPI: webhook ${type}: the body does not match its schema:\n${ajvErrors(validate.errors)}\nbody: ${describe(event)}`);
  }
}
