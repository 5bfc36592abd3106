/**
 * A service's own access token, from identity's token endpoint with the
 * OAuth 2.0 client credentials grant (RFC 6749 §4.4): the client secret in
 * HTTP Basic (`client_secret_basic`, identity's default for service clients)
 * or in the form (`client_secret_post`, the only way through the gateway).
 *
 * The token is cached and fetched again `refreshBeforeMs` before it expires;
 * its expiry is judged on the local clock from when the answer arrived
 * (`expires_in`), never from the token's `exp` against our clock. Callers
 * asking together share one request (single flight). When a refresh fails
 * while the cached token is still valid, the cached token is served and the
 * refresh is tried again at the next call. The secret is never logged nor
 * put into an error.
 */

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post';

export interface ClientCredentialsOptions {
  /** identity's token endpoint, e.g. http://identity:8081/oidc/token. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  authMethod?: ClientAuthMethod;
  /** Space-separated scopes to ask for; identity's default when unset. */
  scope?: string;
  /** Resource indicator (RFC 8707); identity's default (the platform API) when unset. */
  resource?: string;
  /** Fetch a new token this long before the cached one expires (default 60 s, at most half its lifetime). */
  refreshBeforeMs?: number;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** The provider's clock (ms); default Date.now. */
  now?: () => number;
  /** Told about each token fetched (metrics); never sees the secret. */
  onFetch?: (outcome: 'ok' | 'error') => void;
}

/** The token request failed: the endpoint's status and OAuth `error` when it answered, else the cause. */
export class TokenRequestError extends Error {
  readonly status: number | undefined;
  readonly oauthError: string | undefined;
  constructor(message: string, options: { status?: number; oauthError?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenRequestError';
    this.status = options.status;
    this.oauthError = options.oauthError;
  }
}

export interface TokenProvider {
  /** A valid access token (cached, or fetched now; one request for all callers, bounded by `timeoutMs`); rejects with TokenRequestError. */
  token(): Promise<string>;
  /** `Bearer <token>`, for the Authorization header. */
  authorization(): Promise<string>;
  /** Forget `token` (the resource server refused it): the next call fetches a new one. */
  invalidate(token: string): void;
  /** Token requests sent so far. */
  readonly fetches: number;
}

interface Cached {
  token: string;
  /** Local ms: fetch a new one from here on. */
  refreshAt: number;
  /** Local ms: never serve it from here on. */
  expiresAt: number;
}

export function createClientCredentialsProvider(options: ClientCredentialsOptions): TokenProvider {
  if (!options.clientId || !options.clientSecret) throw new Error('createClientCredentialsProvider needs clientId and clientSecret');
  const now = options.now ?? Date.now;
  const method = options.authMethod ?? 'client_secret_basic';
  const refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  let cached: Cached | undefined;
  let inflight: Promise<Cached> | undefined;
  let fetches = 0;

  async function request(): Promise<Cached> {
    fetches++;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (options.scope) form.set('scope', options.scope);
    if (options.resource) form.set('resource', options.resource);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (method === 'client_secret_basic') {
      // RFC 6749 §2.3.1: form-encode id and secret before joining them.
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', options.clientId);
      form.set('client_secret', options.clientSecret);
    }
    const sentAt = now();
    let res: Response;
    try {
      res = await fetch(options.tokenUrl, { method: 'POST', headers, body: form.toString(), signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new TokenRequestError(`token request for client ${options.clientId} to ${options.tokenUrl} failed: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // reported below with the status
    }
    if (!res.ok) {
      const oauthError = typeof body.error === 'string' ? body.error : undefined;
      const description = typeof body.error_description === 'string' ? `: ${body.error_description}` : '';
      throw new TokenRequestError(`token request for client ${options.clientId} to ${options.tokenUrl} answered ${res.status}${oauthError ? ` ${oauthError}` : ''}${description}`, {
        status: res.status,
        ...(oauthError ? { oauthError } : {}),
      });
    }
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number' || !(body.expires_in > 0) || String(body.token_type).toLowerCase() !== 'bearer') {
      throw new TokenRequestError(`token response for client ${options.clientId} from ${options.tokenUrl} has no bearer access_token with a positive expires_in`, { status: res.status });
    }
    // From when we asked: the token cannot have been issued earlier, so we never hold it past its real expiry.
    const lifetimeMs = body.expires_in * 1000;
    const expiresAt = sentAt + lifetimeMs;
    return { token: body.access_token, expiresAt, refreshAt: expiresAt - Math.min(refreshBeforeMs, lifetimeMs / 2) };
  }

  function refresh(): Promise<Cached> {
    inflight ??= request()
      .then(
        (fresh) => {
          options.onFetch?.('ok');
          cached = fresh;
          return fresh;
        },
        (err: unknown) => {
          options.onFetch?.('error');
          throw err;
        },
      )
      .finally(() => (inflight = undefined));
    return inflight;
  }

  async function token(): Promise<string> {
    const current = cached;
    const at = now();
    if (current && at < current.refreshAt) return current.token;
    if (current && at < current.expiresAt) {
      // Due for refresh but still valid: refresh, and fall back to the valid token if that fails.
      return refresh().then(
        (fresh) => fresh.token,
        () => current.token,
      );
    }
    return (await refresh()).token;
  }

  return {
    token,
    async authorization() {
      return `Bearer ${await token()}`;
    },
    invalidate(refused) {
      if (cached?.token === refused) cached = undefined;
    },
    get fetches() {
      return fetches;
    },
  };
}
