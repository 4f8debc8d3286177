// What the Meta event tests share (platform-events-meta*.test.mjs): Meta's signature and
// handshake as Meta documents them
// (https://developers.facebook.com/docs/graph-api/webhooks/getting-started, read 2026-12-07:
// `GET ?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock`, answered
// with the challenge; `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the payload with the
// App Secret>`), signed here with node's crypto, independently of the worker's code; bodies
// after the docs' examples (core/src/platform_events/meta/tests.rs holds them verbatim); apps
// with a receiver of their own, and Facebook Pages connected through the Graph mock.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { callsQuiet } from './harness.mjs';
import { WebhookReceiver } from './webhook-receiver.mjs';

export const REDIRECT = 'https://app.example.com/connected';
export const VERIFY_TOKEN = 'meatyhamhock';
/** Facebook's default scopes (core/src/platforms/facebook.rs) and what a Page subscription needs on top. */
export const FB_DEFAULT_SCOPES = ['pages_show_list', 'pages_read_engagement', 'pages_manage_posts'];
export const SUBSCRIBING_SCOPES = [...FB_DEFAULT_SCOPES, 'pages_manage_metadata'];

export const sign = (body, secret) => `sha256=${crypto.createHmac('sha256', secret).update(body).digest('hex')}`;
export const verifyTokenOf = (secret) => crypto.createHmac('sha256', secret).update('meta-webhook-verify-token').digest('hex').slice(0, 32);
export const hub = (token, challenge = '1158201444', mode = 'subscribe') => ({ 'hub.mode': mode, 'hub.challenge': challenge, 'hub.verify_token': token });

/** A Page feed comment change (the reference's fields: https://developers.facebook.com/docs/graph-api/webhooks/reference/page/). */
export const comment = (id, text = 'hi') => ({
  field: 'feed',
  value: { item: 'comment', verb: 'add', comment_id: `${id}`, post_id: 'p_1', parent_id: 'p_1', created_time: 1703332800, from: { id: '9', name: 'N' }, message: text },
});
export const pageBody = (pageId, changes, time = 1703332800) => JSON.stringify({ object: 'page', entry: [{ id: pageId, time, changes }] });

/** Waits until `receiver` holds `n` events of `type` (forwarding runs after the answer). */
export async function eventsOf(receiver, type, n, ms = 10000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 25))) {
    if (receiver.of(type).length >= n) return receiver.of(type);
  }
  throw new Error(`${n} ${type} events did not arrive (${receiver.of(type).length} did)`);
}

/** The helpers bound to one worker (`kit.w`, set once it runs) and its mocks. */
export function metaKit(mocks) {
  const kit = {
    w: null,
    receivers: [], // every app's, stopped by the file's `after` (a failed test leaves none running)
    post: (path, body, signature) =>
      kit.w.call('POST', path, { raw: body, headers: { 'content-type': 'application/json', ...(signature ? { 'x-hub-signature-256': signature } : {}) } }),
    handshake: (path, params) => kit.w.call('GET', `${path}?${new URLSearchParams(params)}`),

    /** An app (auto-claimed links unless `claim` says) with `platform_events` and a webhook receiver of its own. */
    async newApp(name, platformEvents, claim = 'auto') {
      const receiver = await new WebhookReceiver().start();
      const body = { name, allowed_redirect_urls: [REDIRECT], webhook_url: receiver.url, ...(claim ? { claim } : {}) };
      if (platformEvents) body.platform_events = platformEvents;
      const r = await kit.w.admin('POST', '/v1/admin/apps', body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      receiver.useSecret(r.body.webhook_secret);
      kit.receivers.push(receiver);
      return { id: r.body.app.id, api_key: r.body.api_key, receiver };
    },

    /** Stores `app`'s own Meta client for `platform`; returns its credential_ref and webhooks. */
    async ownClient(app, platform, client) {
      const r = await kit.w.admin('PUT', `/v1/admin/apps/${app.id}/platforms/${platform}`, client);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      mocks.allowClient(platform, client.client_id, client.client_secret);
      const ref = /\/apps\/(pcr_[^/]+)$/.exec(r.body.platform_webhooks.events)[1];
      return { ref, hooks: r.body.platform_webhooks };
    },

    /** Connects `user`'s `pages` to `app` (all of them), with `scopes` (unset: the defaults). */
    async connectPages(app, user, pages, { scopes = SUBSCRIBING_SCOPES, platform = 'facebook', claim } = {}) {
      mocks.setPages(user, pages);
      const linkFields = { accounts: 'all', ...(scopes ? { scopes } : {}), ...(claim === false ? { claim: false } : {}) };
      const { q, link } = await kit.w.connectWithMock(mocks, app.api_key, platform, { user, redirect: REDIRECT, linkFields });
      assert.equal(q.connected, 'true', JSON.stringify(q));
      const ids = q.profile_ids ? q.profile_ids.split(',') : [];
      ids.link = link;
      return ids;
    },

    /**
     * The subscribed_apps calls of Page `pageId` seen so far, once the worker's are settled:
     * at least `atLeast` of them first (the worker calls after its answer, and a quiet window
     * alone can close before a slow call arrives), then no new one for a quiet window.
     */
    subscriptionCalls: async (pageId, atLeast = 0) => {
      const match = (c) => c.endpoint === 'subscribed_apps' && c.path === `/v25.0/${pageId}/subscribed_apps`;
      for (const end = Date.now() + 10000; mocks.calls.filter(match).length < atLeast && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      return callsQuiet(mocks.calls, match);
    },
  };
  return kit;
}
