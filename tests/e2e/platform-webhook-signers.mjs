// Signers for the platform webhooks the worker receives (issue 10), so the e2e tests post
// what Meta and TikTok would post, built from their documented formats rather than from
// the worker's own code (core/src/platform_webhooks.rs cites the docs).
import crypto from 'node:crypto';

/**
 * A Meta `signed_request`: `<base64url signature>.<base64url JSON payload>`, both without
 * padding, the signature being HMAC-SHA256 with the app secret over the *encoded* payload.
 * `payload` is an object (serialized here) or an already serialized JSON string.
 */
export function metaSignedRequest(payload, secret) {
  const json = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const encoded = Buffer.from(json, 'utf8').toString('base64url');
  const sig = crypto.createHmac('sha256', secret).update(encoded).digest('base64url');
  return `${sig}.${encoded}`;
}

/**
 * The `TikTok-Signature` header value for `rawBody` (a string or Buffer, exactly the bytes
 * posted): `t=<unix seconds>,s=<hex HMAC-SHA256 with the client secret over "<t>.<body>">`.
 */
export function tiktokSignatureHeader(rawBody, secret, t = Math.floor(Date.now() / 1000)) {
  const s = crypto
    .createHmac('sha256', secret)
    .update(`${t}.`)
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .digest('hex');
  return `t=${t},s=${s}`;
}
