// The one error type the SDK throws for an API answer it cannot hand back as data.
import type { components } from './generated/schema.js';

/** The error codes the API documents (`{"error": {"code", "message"}}`), from the OpenAPI document. */
export type ApiErrorCode = components['schemas']['Error']['error']['code'];

/**
 * What a `ConnectLinksError` can carry: the API's own codes, `network_error` when no answer came
 * (status 0), and `unexpected_response` for an answer that is not the documented error body (a
 * proxy in front of the worker, say).
 */
export type ConnectLinksErrorCode = ApiErrorCode | 'network_error' | 'unexpected_response';

/**
 * An API call that did not succeed. `code` and `status` come from the answer; `message` is the
 * API's own sentence (which never holds a token, code or secret) or one of ours, never a request's
 * key or token. `retryAfter` is the `Retry-After` of a 429, in seconds, when it gave one.
 */
export class ConnectLinksError extends Error {
  /** The API's error code (`not_found`, `rate_limited`, ...), or `network_error` / `unexpected_response`. */
  readonly code: ConnectLinksErrorCode;
  /** The HTTP status of the answer; 0 when none came. */
  readonly status: number;
  /** Seconds to wait before trying again, from a 429's `Retry-After`; undefined otherwise. */
  readonly retryAfter: number | undefined;

  /** Made by the SDK; `cause` keeps a network failure's original error. */
  constructor(code: ConnectLinksErrorCode, status: number, message: string, options?: { retryAfter?: number | undefined; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectLinksError';
    this.code = code;
    this.status = status;
    this.retryAfter = options?.retryAfter;
  }

  /**
   * The error an answer carries: for the API's own error answers (also those the proxy makes
   * itself, such as 409 for a disconnected profile) the code and message of its body. Reads the
   * body, so call it on a response whose body is still unread (or a clone).
   */
  static async fromResponse(response: Response): Promise<ConnectLinksError> {
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return ConnectLinksError.fromBody(response, body);
  }

  /** As `fromResponse`, from a body already read (and parsed when it was JSON). */
  static fromBody(response: Response, body: unknown): ConnectLinksError {
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    if (error && typeof error.code === 'string' && typeof error.message === 'string') {
      return new ConnectLinksError(error.code as ApiErrorCode, response.status, error.message, { retryAfter });
    }
    return new ConnectLinksError('unexpected_response', response.status, `unexpected answer: HTTP ${response.status}`, { retryAfter });
  }
}

/** `Retry-After` as seconds: a whole number of seconds, or an HTTP date (RFC 9110). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
