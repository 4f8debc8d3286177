// The app's webhooks: Standard Webhooks signatures checked by the `standardwebhooks` package, the
// body typed as the union of the events the OpenAPI document's `webhooks` section lists.
import { Webhook } from 'standardwebhooks';
import type { webhooks } from './generated/schema.js';

/** The webhook event types (`profile.connected`, `platform.event`, ...). */
export type WebhookEventType = keyof webhooks;

type Body<K extends WebhookEventType> = webhooks[K]['post']['requestBody']['content']['application/json'];
// The document gives each event's `type` and `data` as an extra (optional) `properties` beside
// `allOf: [WebhookEvent]`; here each event gets them required and exact, so `event.type` narrows `data`.
type DataOf<K extends WebhookEventType> = Body<K> extends { data?: infer D } & Record<string, unknown> ? Exclude<D, undefined> : never;

/**
 * One webhook delivery's body, `{type, timestamp, data}`: narrow on `type` to get its `data`
 * (a profile for `profile.*`, `ConnectLinkFailedData` for `connect_link.failed`,
 * `PlatformEventData` for `platform.event`, `WebhookTestData` for `webhook.test`).
 */
export type WebhookEvent = {
  [K in WebhookEventType]: { type: K; timestamp: string; data: DataOf<K> };
}[WebhookEventType];

/** The event of type `K`. */
export type WebhookEventOf<K extends WebhookEventType> = Extract<WebhookEvent, { type: K }>;

/** A delivery whose signature, timestamp or headers do not verify. Its message names no secret. */
export class WebhookVerificationError extends Error {
  /** Made by `verifyWebhook`. */
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Request headers as `fetch` (`Headers`) or Node's `http` (`req.headers`) give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/**
 * Verifies one delivery with the app's webhook secret (`whsec_...`) and returns its event.
 * `body` must be the raw body as received (a string or its bytes), not re-serialized JSON.
 * Accepts either signature of a rotation (both are sent for 24 hours), refuses a timestamp more
 * than 5 minutes away. Throws `WebhookVerificationError` otherwise. Retries repeat `webhook-id`:
 * handle each id once.
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, body: string | Uint8Array): WebhookEvent {
  const payload = typeof body === 'string' ? body : new TextDecoder().decode(body);
  let verifier: Webhook;
  try {
    verifier = new Webhook(secret);
  } catch {
    throw new WebhookVerificationError('the webhook secret is not a whsec_ secret');
  }
  let event: unknown;
  try {
    event = verifier.verify(payload, headerRecord(headers));
  } catch (e) {
    // standardwebhooks' messages ("No matching signature found", "Message timestamp too old") name no secret.
    throw new WebhookVerificationError(e instanceof Error ? e.message : 'not verified');
  }
  if (!event || typeof event !== 'object' || typeof (event as { type?: unknown }).type !== 'string') {
    throw new WebhookVerificationError('the body is not a webhook event');
  }
  return event as WebhookEvent;
}

/** The three Standard Webhooks headers, lower-cased, as `standardwebhooks` reads them. */
function headerRecord(headers: WebhookHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    let value: string | string[] | null | undefined;
    if (typeof (headers as Headers).get === 'function') value = (headers as Headers).get(name);
    else value = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
    if (Array.isArray(value)) value = value.join(' ');
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
