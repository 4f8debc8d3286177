// A local app endpoint that receives webhooks and verifies them with the `standardwebhooks`
// package (the reference implementation), independently of the worker's own code. Every
// verified delivery is also checked against the document's `webhooks` entry for its type
// (openapi/openapi.json): a delivery that does not match fails the test (see `contractErrors`).
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { checkWebhook } from './openapi-check.mjs';
import { writeLazily } from './streams.mjs';

export class WebhookReceiver {
  constructor() {
    this.status = 200;
    this.attempts = []; // every request: { id, status }
    this.bodies = []; // every request's body as delivered (a test scans them for secrets)
    this.requests = []; // every request as delivered, { headers, body } (for a client's own verification)
    this.events = []; // accepted and verified: { id, type, data }
    this.answerBytes = 0; // when set, a 200 answer streams a body this long
    this.answerStats = {}; // { sent, closed } of the last streamed answer
    this.contractErrors = []; // deliveries that do not match openapi/openapi.json: Error messages
  }

  /**
   * Throws when a delivery did not match the document. Called by `of()` and `stop()` (every
   * test file stops its receiver in `after`), so a mismatch fails the run however it is read.
   */
  assertContract() {
    if (this.contractErrors.length) {
      throw new Error(`${this.contractErrors.length} webhook deliveries do not match openapi/openapi.json:\n${this.contractErrors.join('\n')}`);
    }
  }

  /** Holds every request until the returned function is called. */
  hold() {
    this.held = 0;
    let release;
    this.holding = new Promise((r) => { release = r; });
    return () => { this.holding = null; release(); };
  }

  /** Verifies with this app's `whsec_...` secret from now on. */
  useSecret(secret) {
    this.verifier = new Webhook(secret);
  }

  async start() {
    this.server = http.createServer((req, res) => {
      // Connection: close, as in platform-mocks.mjs (no pooled socket racing Node's idle close).
      res.setHeader('connection', 'close');
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', async () => {
        // A held receiver answers only when the test releases it.
        if (this.holding) {
          this.held += 1;
          await this.holding;
        }
        const id = req.headers['webhook-id'];
        this.attempts.push({ id, status: this.status });
        this.bodies.push(body);
        this.requests.push({ headers: req.headers, body });
        if (this.status !== 200) {
          res.writeHead(this.status).end('not now');
          return;
        }
        let payload;
        try {
          payload = this.verifier.verify(body, {
            'webhook-id': id, 'webhook-timestamp': req.headers['webhook-timestamp'], 'webhook-signature': req.headers['webhook-signature'],
          });
        } catch (e) {
          this.rejected = (this.rejected || 0) + 1;
          res.writeHead(400).end(String(e));
          return;
        }
        // The body as delivered (verify() parsed it), checked against the document; the
        // delivery is still accepted, so a mismatch shows as itself and not as a retry.
        try {
          checkWebhook(JSON.parse(body));
        } catch (e) {
          this.contractErrors.push(`${id}: ${e.message}`);
        }
        const event = { id, type: payload.type, data: payload.data, timestamp: payload.timestamp };
        this.events.push(event);
        // A test may look at the worker's state while the event is being delivered.
        Promise.resolve(this.onEvent?.(event)).finally(() => {
          if (!this.answerBytes) return res.writeHead(200).end('ok');
          // A huge answer, made only as fast as the worker reads it (chunked: no length).
          res.writeHead(200, { 'content-type': 'text/plain' });
          this.answerStats = {};
          writeLazily(res, this.answerBytes, this.answerStats);
        });
      });
    });
    await new Promise((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${this.server.address().port}/hooks`;
    return this;
  }

  async stop() {
    await new Promise((r) => this.server.close(r));
    this.assertContract();
  }

  of(type, profileId) {
    this.assertContract();
    return this.events.filter((e) => e.type === type && (!profileId || e.data.id === profileId));
  }
}
