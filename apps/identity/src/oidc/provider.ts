/**
 * The OAuth 2.0 / OpenID Connect provider (oidc-provider): discovery,
 * authorization code with PKCE (S256, required for every client), refresh
 * tokens (rotated), client credentials, userinfo, RP-initiated logout and
 * revocation, on identity's accounts and its PostgreSQL (adapter.ts).
 *
 * One key story: the provider signs ID tokens and JWT access tokens with the
 * key ring's current key, and its jwks_uri is identity's own
 * /.well-known/jwks.json. oidc-provider takes its keys at construction, so
 * this module builds a provider per key-ring version (a rotation) and keeps
 * the last one; everything a request needs across instances lives in
 * PostgreSQL or in cookies signed with keys derived from KEY_ENCRYPTION_KEY.
 *
 * Access tokens for the platform API (resource indicator OIDC_RESOURCE, the
 * default for client credentials) are ES256 JWTs (`typ: at+jwt`, `aud`
 * JWT_AUDIENCE, `iss` JWT_ISSUER) with `tenant` and `roles` like password
 * logins' tokens, so the gateway verifies both alike. Tokens for userinfo
 * (an authorization request without a resource) are opaque and stored.
 */
import { hkdfSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors as oidcErrors, type ClientMetadata, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { AppError, toProblem } from '@bulwark/errors';
import type { Logger } from '@bulwark/service-kit';
import { findUserById } from '../store/accounts-store.ts';
import type { IdentityContext } from '../domain/context.ts';
import { postgresAdapter } from './adapter.ts';
import { renderErrorPage, renderLogoutPage, renderLoggedOutPage } from './pages.ts';

export const OIDC_PREFIX = '/oidc';
export const INTERACTION_PREFIX = `${OIDC_PREFIX}/interaction/`;
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
export const SERVICE_ROLES = ['service'];

export interface OidcSettings {
  issuer: string;
  audience: string;
  /** Resource indicator of the platform API (tokens for it are JWTs). */
  resource: string;
  /** Scopes the platform API grants (besides the OIDC ones). */
  apiScopes: readonly string[];
  clients: ClientMetadata[];
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  sessionSeconds: number;
  /** KEY_ENCRYPTION_KEY: the cookie-signing keys are derived from it (HKDF), so every replica signs alike. */
  keyMaterial: string;
  trustProxy: boolean;
}

/** The provider's own paths (besides discovery); identity's JWKS route stays the kit's. */
export const OIDC_ROUTES = {
  authorization: `${OIDC_PREFIX}/auth`,
  token: `${OIDC_PREFIX}/token`,
  userinfo: `${OIDC_PREFIX}/me`,
  end_session: `${OIDC_PREFIX}/session/end`,
  revocation: `${OIDC_PREFIX}/token/revocation`,
  introspection: `${OIDC_PREFIX}/token/introspection`,
  pushed_authorization_request: `${OIDC_PREFIX}/request`,
  code_verification: `${OIDC_PREFIX}/device`,
  device_authorization: `${OIDC_PREFIX}/device/auth`,
  registration: `${OIDC_PREFIX}/reg`,
  backchannel_authentication: `${OIDC_PREFIX}/backchannel`,
  challenge: `${OIDC_PREFIX}/challenge`,
  jwks: '/.well-known/jwks.json',
} as const;

const wantsHtml = (ctx: KoaContextWithOIDC): boolean => (ctx.get('accept') ?? '').includes('text/html');

/** An OAuth error as problem+json members (code IDENTITY_OAUTH_REQUEST_INVALID) plus the OAuth `error`/`error_description`. */
export function oauthProblem(status: number, error: string, description: string | undefined): Record<string, unknown> {
  const detail = description ?? error;
  return toProblem(new AppError('IDENTITY_OAUTH_REQUEST_INVALID', detail, { status, extensions: { error, error_description: detail } })).body;
}

export class OidcProvider {
  readonly #ctx: IdentityContext;
  readonly #settings: OidcSettings;
  readonly #log: Logger;
  readonly #cookieKeys: string[];
  #built: { version: string; provider: Provider; callback: (req: IncomingMessage, res: ServerResponse) => Promise<void> } | undefined;
  #building: Promise<NonNullable<OidcProvider['built']>> | undefined;

  constructor(ctx: IdentityContext, settings: OidcSettings, log: Logger) {
    this.#ctx = ctx;
    this.#settings = settings;
    this.#log = log;
    const ikm = Buffer.from(settings.keyMaterial, 'hex');
    this.#cookieKeys = [Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), 'bulwark identity oidc cookies v1', 32)).toString('base64url')];
  }

  get settings(): OidcSettings {
    return this.#settings;
  }

  /** For tests: the provider built for the current key-ring version. */
  get built(): { version: string; provider: Provider; callback: (req: IncomingMessage, res: ServerResponse) => Promise<void> } | undefined {
    return this.#built;
  }

  /** The provider for the key ring as it is now (rebuilt after a rotation). */
  async current(): Promise<NonNullable<OidcProvider['built']>> {
    const version = this.#ctx.ring.providerKeysVersion();
    if (this.#built?.version === version) return this.#built;
    this.#building ??= this.#build(version).finally(() => (this.#building = undefined));
    return this.#building;
  }

  async #build(version: string): Promise<NonNullable<OidcProvider['built']>> {
    const keys = await this.#ctx.ring.providerJwks();
    const provider = new Provider(this.#settings.issuer, this.#configuration(keys));
    provider.proxy = this.#settings.trustProxy;
    this.#observe(provider);
    const built = { version, provider, callback: provider.callback() as (req: IncomingMessage, res: ServerResponse) => Promise<void> };
    if (this.#built) this.#log.info({ version }, 'OIDC provider rebuilt for the new signing key');
    this.#built = built;
    return built;
  }

  #observe(provider: Provider): void {
    const { metrics } = this.#ctx;
    provider.on('grant.success', (ctx: KoaContextWithOIDC) => metrics.oidcTokens.inc({ grant: String(ctx.oidc.params?.grant_type ?? 'unknown') }));
    const countError = (_ctx: KoaContextWithOIDC, err: { error?: string }) => metrics.oidcErrors.inc({ error: err.error ?? 'unknown' });
    for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error', 'revocation.error', 'introspection.error', 'discovery.error'] as const) {
      (provider.on as (e: string, l: typeof countError) => void).call(provider, event, countError);
    }
    provider.on('server_error', (_ctx: KoaContextWithOIDC, err: Error) => {
      metrics.oidcErrors.inc({ error: 'server_error' });
      this.#log.error({ err }, 'OIDC provider error');
    });
    // Token, userinfo and revocation errors stay RFC 6749 JSON (application/json, `error`,
    // `error_description`: what OAuth clients parse) and also carry the problem+json members.
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as { error?: unknown; error_description?: unknown } | undefined;
      if (ctx.status >= 400 && body && typeof body === 'object' && typeof body.error === 'string' && ctx.response.is('json')) {
        ctx.body = { ...oauthProblem(ctx.status, body.error, typeof body.error_description === 'string' ? body.error_description : undefined), ...body };
      }
    });
  }

  #configuration(keys: object[]): Configuration {
    const s = this.#settings;
    const ctx = this.#ctx;
    const apiScope = s.apiScopes.join(' ');
    return {
      adapter: postgresAdapter(ctx.pool),
      clients: s.clients,
      clientDefaults: { id_token_signed_response_alg: 'ES256', grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
      jwks: { keys: keys as never },
      cookies: {
        keys: this.#cookieKeys,
        long: { signed: true, httpOnly: true, sameSite: 'lax' },
        short: { signed: true, httpOnly: true, sameSite: 'lax' },
      },
      routes: OIDC_ROUTES,
      scopes: ['openid', 'offline_access', 'profile', 'email', ...s.apiScopes],
      claims: { acr: null, sid: null, auth_time: null, iss: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'], profile: ['name', 'tenant', 'roles'] },
      pkce: { required: () => true },
      // Browsers may call the token and userinfo endpoints only from a public client's own origins (its redirect URIs).
      clientBasedCORS: (koa, origin, client) => origin !== 'null' && (koa.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') && (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
      interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
      async findAccount(_koa, sub) {
        const user = await findUserById(ctx.pool, sub);
        if (!user) return undefined;
        return {
          accountId: user.id,
          claims: () => ({ sub: user.id, email: user.email, email_verified: user.emailVerified, name: user.displayName ?? undefined, tenant: user.tenantId, roles: user.roles }),
        };
      },
      async extraTokenClaims(_koa, token) {
        if (token.kind === 'ClientCredentials') return { roles: SERVICE_ROLES };
        const accountId = (token as { accountId?: string }).accountId;
        if (!accountId) return undefined;
        const user = await findUserById(ctx.pool, accountId);
        return user ? { tenant: user.tenantId, roles: user.roles } : undefined;
      },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        // A client revokes only its own tokens.
        revocation: { enabled: true, allowedPolicy: async (_koa, client, token) => token.clientId === client.clientId },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (koa, form) => {
            koa.type = 'html';
            koa.body = renderLogoutPage(form, koa.oidc.client?.clientName ?? koa.oidc.client?.clientId);
          },
          postLogoutSuccessSource: async (koa) => {
            koa.type = 'html';
            koa.body = renderLoggedOutPage(koa.oidc.client?.clientName ?? koa.oidc.client?.clientId);
          },
        },
        resourceIndicators: {
          enabled: true,
          // Client credentials are for the platform API; an authorization request names it explicitly (else its token is for userinfo).
          defaultResource: async (koa, _client, oneOf) => oneOf ?? (koa.oidc.params?.grant_type === 'client_credentials' ? s.resource : undefined),
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_koa, indicator) => {
            if (indicator !== s.resource) throw new oidcErrors.InvalidTarget(`unknown resource indicator; this provider serves ${s.resource}`);
            return { scope: apiScope, audience: s.audience, accessTokenTTL: s.accessTokenSeconds, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
          },
        },
      },
      ttl: {
        AccessToken: s.accessTokenSeconds,
        ClientCredentials: s.accessTokenSeconds,
        IdToken: s.accessTokenSeconds,
        AuthorizationCode: 60,
        Interaction: 3600,
        RefreshToken: s.refreshTokenSeconds,
        Session: s.sessionSeconds,
        Grant: s.sessionSeconds,
      },
      issueRefreshToken: async (_koa, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
      rotateRefreshToken: () => true,
      async renderError(koa, out, error) {
        const status = (error as { statusCode?: number }).statusCode ?? koa.status ?? 400;
        koa.status = status >= 400 ? status : 400;
        koa.set('cache-control', 'no-store');
        if (wantsHtml(koa)) {
          koa.type = 'html';
          koa.body = renderErrorPage(out.error, out.error_description);
          return;
        }
        koa.type = 'application/problem+json';
        koa.body = JSON.stringify(oauthProblem(koa.status, out.error, out.error_description));
      },
    };
  }
}
