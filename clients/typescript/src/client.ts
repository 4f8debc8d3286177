// The hand-written layer over the generated client: one call for each step of the common path
// (create a link, claim it, list the profiles, act through the proxy, verify a webhook).
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/schema.js';
import { ConnectLinksError } from './errors.js';
import { verifyWebhook, type WebhookEvent, type WebhookHeaders } from './webhooks.js';

type Schemas = components['schemas'];
/** A profile as the API shows it (never a token). */
export type Profile = Schemas['Profile'];
/** The body of `POST /v1/connect-links`. */
export type CreateConnectLinkRequest = Schemas['CreateConnectLinkRequest'];
/** The 201 answer of `POST /v1/connect-links`: `{id, url, authorize_url, platform, platforms, expires_at}`. */
export type ConnectLinkCreated = Schemas['ConnectLinkCreated'];
/** One page of profiles: `{data, next_cursor}`. */
export type ProfileList = Schemas['ProfileList'];
/** The query of `GET /v1/profiles` (`platform`, `status`, `external_user_id`, `limit`, `cursor`). */
export type ProfileQuery = NonNullable<paths['/v1/profiles']['get']['parameters']['query']>;
/** `{access_token, token_type, expires_at, scopes}`. */
export type AccessToken = Schemas['AccessToken'];

/** When the SDK tries a call again (see `ConnectLinksOptions.retry`). */
export interface RetryOptions {
  /** Tries after the first; default 2. 0 turns retries off. */
  maxRetries?: number;
  /** The longest `Retry-After` (seconds) worth waiting for; a longer one is thrown at once. Default 5. */
  maxWaitSeconds?: number;
}

/** What `new ConnectLinks(...)` takes. */
export interface ConnectLinksOptions {
  /** The worker's public URL, e.g. `https://connect.example.com`. */
  baseUrl: string;
  /** The app's API key (`ck_...`). Sent as a bearer token, never put in an error. */
  apiKey: string;
  /** The app's webhook secret (`whsec_...`), for `webhooks.verify`. */
  webhookSecret?: string;
  /** Another `fetch` (tests, tracing); it gets one `Request`. Default: the global `fetch`. */
  fetch?: (request: Request) => Promise<Response>;
  /** Retries of a 429 `rate_limited` answer; see the README's "Errors and retries". */
  retry?: RetryOptions;
}

/**
 * The connect-links API for one app. The common path is one call per step; `api` is the typed
 * client (openapi-fetch over the OpenAPI document's types) for every other route.
 */
export class ConnectLinks {
  /** The generated client with the app's key: `await sdk.api.GET('/v1/platforms')`. */
  readonly api: Client<paths>;
  /** The app's profiles. */
  readonly profiles: {
    /** One page of the app's profiles (pending ones only with `status: 'pending'`). */
    list(query?: ProfileQuery): Promise<ProfileList>;
    /** One profile; `not_found` for another app's or an unknown one. */
    get(profileId: string): Promise<Profile>;
    /** Deletes the profile (revoking its grant at the platform when it is the grant's last). */
    delete(profileId: string): Promise<void>;
  };
  /** The app's webhooks. */
  readonly webhooks: {
    /** Verifies one delivery (raw body, as received) with `webhookSecret` and returns its event. */
    verify(headers: WebhookHeaders, body: string | Uint8Array): WebhookEvent;
  };
  readonly #baseUrl: string;
  readonly #fetch: (request: Request) => Promise<Response>;
  readonly #authorization: string;
  readonly #maxRetries: number;
  readonly #maxWait: number;

  /** A client for the worker at `baseUrl`, acting as the app whose key is `apiKey`. */
  constructor(options: ConnectLinksOptions) {
    if (!options.baseUrl) throw new TypeError('ConnectLinks: baseUrl is required');
    if (!options.apiKey) throw new TypeError('ConnectLinks: apiKey is required');
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Looked up at call time, so a test's or a runtime's later global `fetch` is the one used.
    this.#fetch = options.fetch ?? ((request) => globalThis.fetch(request));
    this.#authorization = `Bearer ${options.apiKey}`;
    this.#maxRetries = options.retry?.maxRetries ?? 2;
    this.#maxWait = options.retry?.maxWaitSeconds ?? 5;
    this.api = createClient<paths>({ baseUrl: this.#baseUrl, fetch: this.#fetch, headers: { authorization: this.#authorization } });
    const secret = options.webhookSecret;
    this.profiles = {
      list: (query = {}) => this.#call(true, () => this.api.GET('/v1/profiles', { params: { query } })),
      get: (profileId) => this.#call(true, () => this.api.GET('/v1/profiles/{id}', { params: { path: { id: profileId } } })),
      delete: async (profileId) => {
        await this.#call(false, () => this.api.DELETE('/v1/profiles/{id}', { params: { path: { id: profileId } } }));
      },
    };
    this.webhooks = {
      verify: (headers, body) => {
        if (!secret) throw new TypeError('ConnectLinks: webhooks.verify needs the webhookSecret option');
        return verifyWebhook(secret, headers, body);
      },
    };
  }

  /**
   * Creates a connect link (`POST /v1/connect-links`): send the user's browser to its `url`,
   * and keep its `id` with the user's session for the claim.
   */
  createLink(body: CreateConnectLinkRequest): Promise<ConnectLinkCreated> {
    // A 429 from the worker's limits did nothing ("no link stored"; docs/limits.md): safe to send again.
    return this.#call(true, () => this.api.POST('/v1/connect-links', { body }));
  }

  /**
   * Claims a finished connect (`POST /v1/connect-links/{id}/claim`) with the `connect_token`
   * of the redirect back, once the app has checked that this user's session made `linkId`.
   * Returns the link's profiles, now `active`. One use: `forbidden`, `conflict` or
   * `link_expired` after.
   */
  async claim(linkId: string, connectToken: string): Promise<Profile[]> {
    const result = await this.#call(false, () =>
      this.api.POST('/v1/connect-links/{id}/claim', { params: { path: { id: linkId } }, body: { connect_token: connectToken } }),
    );
    return result.data;
  }

  /** The token the profile acts with (`GET /v1/profiles/{id}/access-token`), refreshed first when near expiry. */
  accessToken(profileId: string): Promise<AccessToken> {
    return this.#call(true, () => this.api.GET('/v1/profiles/{id}/access-token', { params: { path: { id: profileId } } }));
  }

  /**
   * Calls the profile's platform API through the worker (`ANY /v1/profiles/{id}/proxy/{path}`),
   * which adds the profile's token: `path` is the platform API's path (and query), e.g.
   * `'2/users/me'`. Returns the raw `Response`: the platform's answer, or the worker's own error
   * (`ConnectLinksError.fromResponse(res)` reads it). Never retried here; the worker retries
   * what docs/proxy.md says it does.
   */
  async proxy(profileId: string, method: string, path: string, init: RequestInit = {}): Promise<Response> {
    if (climbsOut(path)) {
      // `new Request` (or the worker's runtime) would resolve it before routing: the call
      // would reach another route of the API with the app's key, such as another profile's
      // access token.
      throw new TypeError("proxy path has a '.' or '..' segment (plain or percent-encoded) or a backslash");
    }
    const url = `${this.#baseUrl}/v1/profiles/${encodeURIComponent(profileId)}/proxy/${path.replace(/^\/+/, '')}`;
    const headers = new Headers(init.headers);
    headers.set('authorization', this.#authorization);
    try {
      return await this.#fetch(new Request(url, { ...init, method, headers }));
    } catch (e) {
      throw networkError(e);
    }
  }

  /**
   * Runs one generated-client call and returns its data, or throws `ConnectLinksError`.
   * `retryable` calls (GETs, and the create whose 429 stores nothing) are sent again after a
   * 429 `rate_limited` whose `Retry-After` is within `maxWaitSeconds`; nothing else is retried.
   */
  async #call<T>(retryable: boolean, send: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let answer: { data?: T; error?: unknown; response: Response };
      try {
        answer = await send();
      } catch (e) {
        throw networkError(e);
      }
      if (answer.response.ok) return answer.data as T;
      const error = ConnectLinksError.fromBody(answer.response, answer.error);
      const wait = error.retryAfter;
      if (!retryable || error.code !== 'rate_limited' || wait === undefined || wait > this.#maxWait || attempt >= this.#maxRetries) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    }
  }
}

/** A call that got no answer; the message is the runtime's (it holds no header of ours). */
/**
 * Whether `path` has a `.` or `..` segment, plain or percent-encoded, a backslash (read as a
 * slash), a control character anywhere (URL parsing drops tabs and line breaks, so `.\t.` is
 * `..`) or a space in the path part (trimmed at the URL's end, so `%2e%2e ` is `%2e%2e`).
 */
function climbsOut(path: string): boolean {
  if (/[\u0000-\u001f\u007f]/.test(path)) return true;
  const route = path.split(/[?#]/, 1)[0] ?? '';
  return route.includes('\\') || route.includes(' ') || route.split('/').some((segment) => {
    let decoded = segment;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      // A malformed escape stays as it is: the runtime cannot read it as a dot either.
    }
    return decoded === '.' || decoded === '..';
  });
}

function networkError(e: unknown): ConnectLinksError {
  if (e instanceof ConnectLinksError) return e;
  return new ConnectLinksError('network_error', 0, `no answer from the worker: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
