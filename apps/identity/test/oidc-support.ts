/**
 * What the OIDC tests share: identity started on a known port (the issuer
 * must be the address relying parties reach, so it cannot be port 0), the
 * test relying parties it knows, a browser stand-in (cookie jar, redirects
 * followed by hand, forms posted as a browser posts them) and the
 * openid-client configuration of each relying party.
 */
import * as oidc from 'openid-client';
import { freePort } from '@bulwark/test-support';
import type { IdentityApp } from '../src/app.ts';
import type { TestIdentity } from './support.ts';

export const RP_CALLBACK = 'http://rp.bulwark.test/callback';
export const RP_LOGGED_OUT = 'http://rp.bulwark.test/logged-out';
export const RP_SECRET = 'rp-secret-0123456789abcdef0123456789abcdef';
export const SERVICE_SECRET = 'orders-secret-0123456789abcdef0123456789';

/** The relying parties of the tests: a confidential web app, a public (PKCE-only) app, and a reports client (orders and notifications are service clients, as up registers them). */
export const TEST_CLIENTS = [
  { client_id: 'shop-web', client_secret: RP_SECRET, client_name: 'Bulwark Shop', redirect_uris: [RP_CALLBACK], post_logout_redirect_uris: [RP_LOGGED_OUT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
  { client_id: 'shop-spa', client_name: 'Bulwark SPA', redirect_uris: [RP_CALLBACK], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'none' },
  // The same web app with client_secret_post (the gateway's token route passes either method to identity).
  { client_id: 'shop-web-post', client_secret: RP_SECRET, client_name: 'Bulwark Shop', redirect_uris: [RP_CALLBACK], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_post' },
  { client_id: 'reports', client_secret: SERVICE_SECRET, client_name: 'reports (service)', redirect_uris: [], grant_types: ['client_credentials'], response_types: [], token_endpoint_auth_method: 'client_secret_post' },
];

export async function startWithIssuer(t: TestIdentity, extra: Record<string, string> = {}): Promise<{ app: IdentityApp; url: string }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = await t.start({ PORT: String(port), JWT_ISSUER: url, OIDC_CLIENTS: JSON.stringify(TEST_CLIENTS), OIDC_SERVICE_CLIENTS: `orders=${SERVICE_SECRET},notifications=${SERVICE_SECRET}`, ...extra });
  return { app: started.app, url };
}

export async function relyingParty(issuer: string, clientId = 'shop-web', secret: string | undefined = RP_SECRET, method: 'basic' | 'post' = 'basic'): Promise<oidc.Configuration> {
  const metadata = { id_token_signed_response_alg: 'ES256' };
  const auth = secret === undefined ? oidc.None() : method === 'post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
  return oidc.discovery(new URL(issuer), clientId, metadata, auth, { execute: [oidc.allowInsecureRequests] });
}

export interface Page {
  status: number;
  location: string | undefined;
  html: string;
  headers: Headers;
}

/** A browser without JavaScript: keeps cookies per origin, follows nothing by itself. */
export class Browser {
  readonly #cookies = new Map<string, string>();

  async request(url: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    const cookie = [...this.#cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(url, { method: init.method ?? (init.form ? 'POST' : 'GET'), headers, body, redirect: 'manual' });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(set) || value === '') this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, location: location && new URL(location, url).toString(), html: await res.text(), headers: res.headers };
  }

  /** Follows redirects on the provider until a page is shown or the browser is sent to `stopAt` (the RP). */
  async follow(url: string, stopAt: string, init?: Parameters<Browser['request']>[1]): Promise<Page & { url: string }> {
    let page = await this.request(url, init);
    let current = url;
    for (let hops = 0; page.location && hops < 10; hops++) {
      if (page.location.startsWith(stopAt)) return { ...page, url: current };
      current = page.location;
      page = await this.request(current);
    }
    return { ...page, url: current };
  }
}

export function formField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no field ${name} in the page:\n${html.slice(0, 2000)}`);
  return m[1]!.replaceAll('&amp;', '&').replaceAll('&quot;', '"');
}

export function formAction(html: string, suffix: string): string {
  const m = new RegExp(`action="([^"]*/${suffix})"`).exec(html);
  if (!m) throw new Error(`no form posting to …/${suffix} in the page:\n${html.slice(0, 2000)}`);
  return m[1]!;
}
