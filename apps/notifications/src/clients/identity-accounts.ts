/**
 * Client of identity's internal accounts API (GET /v1/internal/accounts/:id)
 * on the platform's one service client (@bulwark/service-kit/service-client):
 * notifications' own client-credentials token (a 401 gets one retry with a
 * new token), a per-call timeout and a breaker, so an identity that is away
 * is not called at full rate by every redelivered event. 404 is "no such
 * account"; anything else is an IdentityUnavailableError for the caller to
 * retry.
 */
import type { TokenProvider } from '@bulwark/service-kit/service-auth';
import { createServiceClient, TransientCallError, type BreakerSettings, type ServiceClientLog } from '@bulwark/service-kit/service-client';

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
  close(): void;
}

export class IdentityUnavailableError extends Error {
  override readonly name = 'IdentityUnavailableError';
}

/** Opens after half of at least 10 lookups failed in 10 s; one lookup tries again after 5 s. */
const BREAKER: BreakerSettings = { errorThresholdPercentage: 50, volumeThreshold: 10, resetTimeoutMs: 5_000 };

export function createIdentityAccounts(options: { baseUrl: string; tokens: TokenProvider; timeoutMs: number; log: ServiceClientLog; breaker?: BreakerSettings }): IdentityAccounts {
  const client = createServiceClient({ name: 'identity', baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, tokens: options.tokens, breaker: options.breaker ?? BREAKER, log: options.log });
  return {
    async contact(accountId) {
      let res;
      try {
        res = await client.call<Partial<AccountContact> & { code?: string; detail?: string }>({ method: 'GET', path: `/v1/internal/accounts/${encodeURIComponent(accountId)}` });
      } catch (err) {
        if (err instanceof TransientCallError) throw new IdentityUnavailableError(`identity could not answer: ${err.reason}`, { cause: err });
        throw err;
      }
      if (res.status === 404) return undefined;
      if (res.status !== 200 || !res.body) {
        throw new IdentityUnavailableError(`identity answered ${res.status} ${res.body?.code ?? ''} ${res.body?.detail ?? ''}`.trim());
      }
      const body = res.body;
      return { id: body.id!, tenantId: body.tenantId!, email: body.email!, name: body.name ?? null, locale: body.locale ?? null };
    },
    close: () => client.close(),
  };
}
