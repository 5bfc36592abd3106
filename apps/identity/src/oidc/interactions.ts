/**
 * The login and consent steps of the OIDC provider (its "interactions"),
 * served as plain HTML forms under /oidc/interaction/:uid:
 *
 *   GET  …/:uid          the login page, or the consent page once signed in
 *   POST …/:uid/login    tenant, email, password (the password step every login shares)
 *   POST …/:uid/otp      the TOTP or recovery code, when the account has a factor
 *   POST …/:uid/confirm  consent: grants the requested scopes (and API resource)
 *   POST …/:uid/abort    cancel/deny: access_denied back to the application
 *
 * CSRF: every POST needs the interaction's cookie (oidc-provider binds the
 * uid to a signed, SameSite=Lax cookie of this browser, so a form posted
 * from elsewhere finds no interaction) and a `csrf` field that is an HMAC
 * of the uid under a key derived from KEY_ENCRYPTION_KEY. The second-factor
 * step carries a ticket (HMAC of uid, account and expiry) instead of any
 * server-side state, bound to the same interaction.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, isAppError } from '@bulwark/errors';
import type { RawRequest } from '@bulwark/service-kit';
import type { IdentityContext } from '../domain/context.ts';
import { assertSecondFactor, enrolmentRequired } from '../domain/second-factor.ts';
import { normalizeEmail } from '../domain/secrets.ts';
import { authenticatePassword } from '../domain/sessions.ts';
import { identityError } from '../errors.ts';
import { findUserById } from '../store/accounts-store.ts';
import { findTotpFactor } from '../store/totp-store.ts';
import { INTERACTION_PREFIX, type OidcProvider } from './provider.ts';
import { renderConsentPage, renderErrorPage, renderLoginPage, renderOtpPage } from './pages.ts';

const FORM_LIMIT_BYTES = 8 * 1024;
const TICKET_SECONDS = 300;
const PATH = /^\/oidc\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|otp|confirm|abort))?\/?$/;

const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'text/html; charset=utf-8' });
  res.end(html);
}

/** The client address as Express computes `req.ip` with `trust proxy` = hops. */
export function clientAddress(req: IncomingMessage, trustProxyHops: number): string {
  const remote = req.socket.remoteAddress ?? 'unknown';
  if (trustProxyHops <= 0) return remote;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const chain = [...forwarded, remote];
  return chain[Math.max(0, chain.length - 1 - trustProxyHops)] ?? remote;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'the sign-in forms take application/x-www-form-urlencoded', { status: 415 });
  }
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > FORM_LIMIT_BYTES) throw new AppError('BODY_TOO_LARGE', `the form exceeds ${FORM_LIMIT_BYTES} bytes`, { status: 413 });
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const field = (form: URLSearchParams, name: string, max = 320): string => (form.get(name) ?? '').slice(0, max);

export class InteractionPages {
  readonly #oidc: OidcProvider;
  readonly #ctx: IdentityContext;
  readonly #key: Buffer;
  readonly #trustProxyHops: number;

  constructor(oidc: OidcProvider, ctx: IdentityContext, keyMaterial: string, trustProxyHops: number) {
    this.#oidc = oidc;
    this.#ctx = ctx;
    this.#key = Buffer.from(hkdfSync('sha256', Buffer.from(keyMaterial, 'hex'), Buffer.alloc(0), 'bulwark identity oidc forms v1', 32));
    this.#trustProxyHops = trustProxyHops;
  }

  #mac(value: string): string {
    return createHmac('sha256', this.#key).update(value).digest('base64url');
  }

  #macMatches(value: string, mac: string): boolean {
    const expected = Buffer.from(this.#mac(value));
    const given = Buffer.from(mac);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  csrfFor(uid: string): string {
    return this.#mac(`csrf:${uid}`);
  }

  /** Takes /oidc/interaction/… requests; answers HTML to browsers and problem+json to others. */
  handle(req: IncomingMessage, res: ServerResponse, request: RawRequest): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const match = PATH.exec(path);
    request.markRoute(match?.[2] ? `${INTERACTION_PREFIX}:uid/${match[2]}` : `${INTERACTION_PREFIX}:uid`);
    this.#serve(req, res, match).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const wantsHtml = String(req.headers.accept ?? '').includes('text/html');
      if (wantsHtml && isAppError(err) && err.status < 500) {
        sendHtml(res, err.status, renderErrorPage(err.code, err.message));
        return;
      }
      request.fail(err);
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray | null): Promise<void> {
    if (!match) throw identityError('IDENTITY_INTERACTION_INVALID', 'unknown sign-in step');
    const [, uid, action] = match as unknown as [string, string, string | undefined];
    const method = req.method ?? 'GET';
    if ((action === undefined && method !== 'GET') || (action !== undefined && method !== 'POST')) {
      throw new AppError('METHOD_NOT_ALLOWED', `${method} is not allowed here`, { status: 405, headers: { allow: action === undefined ? 'GET' : 'POST' } });
    }
    const { provider } = await this.#oidc.current();
    let details: Awaited<ReturnType<typeof provider.interactionDetails>>;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (err) {
      throw identityError('IDENTITY_INTERACTION_INVALID', 'this sign-in has expired or belongs to another browser; start again from the application', { cause: err });
    }
    if (details.uid !== uid) throw identityError('IDENTITY_INTERACTION_INVALID', 'this sign-in page belongs to another sign-in; start again from the application');
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    const base = `${INTERACTION_PREFIX}${uid}`;
    const csrf = this.csrfFor(uid);

    if (action === undefined) {
      if (details.prompt.name === 'login') return sendHtml(res, 200, renderLoginPage({ action: `${base}/login`, csrf, clientName }));
      const scopes = String(details.params.scope ?? 'openid').split(' ').filter(Boolean);
      return sendHtml(res, 200, renderConsentPage({ action: `${base}/confirm`, abortAction: `${base}/abort`, csrf, clientName, scopes }));
    }

    const form = await readForm(req);
    if (!this.#macMatches(`csrf:${uid}`, field(form, 'csrf', 100))) throw identityError('IDENTITY_INTERACTION_INVALID', 'the form is missing its CSRF token or it does not match this sign-in');

    if (action === 'abort') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled the sign-in or denied access' }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === 'login') {
      if (details.prompt.name !== 'login') throw identityError('IDENTITY_INTERACTION_INVALID', 'this sign-in is past the login step');
      const input = { tenant: field(form, 'tenant', 63).trim().toLowerCase(), email: field(form, 'email'), password: field(form, 'password', 1024) };
      const again = (status: number, error: string, headers: Record<string, string> = {}) => sendHtml(res, status, renderLoginPage({ action: `${base}/login`, csrf, clientName, tenant: input.tenant, email: input.email, error }), headers);
      if (!input.tenant || !input.email || !input.password) return again(400, 'Enter your organisation, email and password.');
      let authenticated: Awaited<ReturnType<typeof authenticatePassword>>;
      try {
        authenticated = await authenticatePassword(this.#ctx, input, clientAddress(req, this.#trustProxyHops));
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) throw err;
        return again(err.status, err.code === 'IDENTITY_INVALID_CREDENTIALS' ? 'The organisation, email or password is wrong.' : err.message, err.retryAfterSeconds ? { 'retry-after': String(Math.ceil(err.retryAfterSeconds)) } : {});
      }
      const { user, pair } = authenticated;
      if (await enrolmentRequired(this.#ctx, this.#ctx.pool, user)) {
        return again(403, 'Your organisation requires two-step verification. Turn it on in your account (POST /v1/me/totp) before signing in to applications.');
      }
      if ((await findTotpFactor(this.#ctx.pool, user.id))?.confirmed) {
        const expires = Math.floor(this.#ctx.ring.now() / 1000) + TICKET_SECONDS;
        const ticket = `${user.id}.${expires}.${this.#mac(`otp:${uid}:${user.id}:${expires}`)}`;
        return sendHtml(res, 200, renderOtpPage({ action: `${base}/otp`, csrf, ticket }));
      }
      const amr = await assertSecondFactor(this.#ctx, user, undefined, pair);
      await provider.interactionFinished(req, res, { login: { accountId: user.id, amr } }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === 'otp') {
      const [userId = '', expires = '', mac = ''] = field(form, 'ticket', 200).split('.');
      if (!this.#macMatches(`otp:${uid}:${userId}:${expires}`, mac) || Number(expires) < this.#ctx.ring.now() / 1000) {
        throw identityError('IDENTITY_INTERACTION_INVALID', 'the two-step verification step has expired; sign in again');
      }
      const user = await findUserById(this.#ctx.pool, userId);
      if (!user) throw identityError('IDENTITY_INTERACTION_INVALID', 'the account no longer exists');
      const pair = { tenantId: user.tenantId, email: normalizeEmail(user.email), source: clientAddress(req, this.#trustProxyHops) };
      let amr: string[];
      try {
        await this.#ctx.throttle.assertNotLocked(this.#ctx.pool, pair);
        amr = await assertSecondFactor(this.#ctx, user, field(form, 'otp', 40), pair);
      } catch (err) {
        if (!isAppError(err) || err.status >= 500) throw err;
        const message = err.code === 'IDENTITY_LOGIN_LOCKED' ? err.message : 'That code is wrong, expired or was used already.';
        return sendHtml(res, err.status, renderOtpPage({ action: `${base}/otp`, csrf, ticket: field(form, 'ticket', 200), error: message }));
      }
      await provider.interactionFinished(req, res, { login: { accountId: user.id, amr } }, { mergeWithLastSubmission: false });
      return;
    }
    // confirm
    if (details.prompt.name !== 'consent' || !details.session?.accountId) throw identityError('IDENTITY_INTERACTION_INVALID', 'there is nothing to consent to in this sign-in');
    const accountId = details.session.accountId;
    const clientId = String(details.params.client_id);
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }
}
