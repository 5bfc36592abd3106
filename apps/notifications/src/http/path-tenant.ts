/**
 * The tenant a request runs as: the one its /v1/tenants/{tenantId}/… path
 * names (the gateway puts the token's tenant there). Paths that name none,
 * or a malformed one, give none: the request runs without a tenant, tenant
 * tables fail closed, and the route's own validation answers (400).
 */
import { isTenantId } from '@bulwark/db';

const TENANT_PATH = /^\/v1\/tenants\/([^/?#]+)/;

/** The tenant of a /v1/tenants/{tenantId}/… path, when it names a valid one. */
export function pathTenant(url: string | undefined): string | undefined {
  const match = TENANT_PATH.exec(url ?? '');
  if (!match) return undefined;
  let tenant: string;
  try {
    tenant = decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
  return isTenantId(tenant) ? tenant : undefined;
}
