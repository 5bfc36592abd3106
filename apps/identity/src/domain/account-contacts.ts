/**
 * Use case "contact details for a service": the email, name and locale a
 * service (notifications) needs to write to an account holder. Called only
 * through the internal API with a client-credentials token; never routed by
 * the gateway.
 */
import { identityError } from '../errors.ts';
import { findUserById } from '../store/accounts-store.ts';
import type { IdentityContext } from './context.ts';

export interface AccountContact {
  id: string;
  tenantId: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  /** Accounts have no language preference yet: null, and the caller uses its default. */
  locale: string | null;
}

export async function getAccountContact(ctx: IdentityContext, accountId: string): Promise<AccountContact> {
  const user = await findUserById(ctx.pool, accountId);
  if (!user) throw identityError('IDENTITY_ACCOUNT_NOT_FOUND', `no account ${accountId}`, { extensions: { accountId } });
  return { id: user.id, tenantId: user.tenantId, email: user.email, emailVerified: user.emailVerified, name: user.displayName, locale: null };
}
