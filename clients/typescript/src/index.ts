// @connect-links/sdk: the typed client for the connect-links API.
export { ConnectLinks } from './client.js';
export type {
  AccessToken,
  ConnectLinkCreated,
  ConnectLinksOptions,
  CreateConnectLinkRequest,
  Profile,
  ProfileList,
  ProfileQuery,
  RetryOptions,
} from './client.js';
export { ConnectLinksError, type ApiErrorCode, type ConnectLinksErrorCode } from './errors.js';
export {
  verifyWebhook,
  WebhookVerificationError,
  type WebhookEvent,
  type WebhookEventOf,
  type WebhookEventType,
  type WebhookHeaders,
} from './webhooks.js';
export type { components, paths, webhooks } from './generated/schema.js';
