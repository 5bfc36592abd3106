/**
 * Client of identity's internal accounts API (GET /v1/internal/accounts/:id)
 * with notifications' own client-credentials token
 * (@bulwark/service-kit/service-auth). A 401 means identity no longer takes
 * the cached token (a key withdrawn early): the token is dropped and the call
 * is made once more with a new one. 404 is "no such account"; anything else
 * is an error for the caller to retry.
 */
import { propagationHeaders } from '@bulwark/service-kit';
import type { TokenProvider } from '@bulwark/service-kit/service-auth';

export interface AccountContact {
  id: string;
  tenantId: string;
  email: string;
  name: string | null;
  locale: string | null;
}

export interface IdentityAccounts {
  /** The account's contact details; undefined when identity has no such account. */
  contact(accountId: string): Promise<AccountContact | undefined>;
}

export class IdentityUnavailableError extends Error {
  override readonly name = 'IdentityUnavailableError';
}

export function createIdentityAccounts(options: { baseUrl: string; tokens: TokenProvider; timeoutMs: number }): IdentityAccounts {
  const base = options.baseUrl.replace(/\/+$/, '');
  async function get(accountId: string, token: string): Promise<Response> {
    try {
      return await fetch(`${base}/v1/internal/accounts/${encodeURIComponent(accountId)}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${token}`, ...propagationHeaders() },
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (err) {
      throw new IdentityUnavailableError(`identity at ${base} could not be reached: ${(err as Error).message}`, { cause: err });
    }
  }
  return {
    async contact(accountId) {
      let token = await options.tokens.token();
      let res = await get(accountId, token);
      if (res.status === 401) {
        await res.arrayBuffer();
        options.tokens.invalidate(token);
        token = await options.tokens.token();
        res = await get(accountId, token);
      }
      if (res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      if (res.status !== 200) {
        const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
        throw new IdentityUnavailableError(`identity answered ${res.status} ${problem.code ?? ''} ${problem.detail ?? ''}`.trim());
      }
      const body = (await res.json()) as AccountContact;
      return { id: body.id, tenantId: body.tenantId, email: body.email, name: body.name ?? null, locale: body.locale ?? null };
    },
  };
}
