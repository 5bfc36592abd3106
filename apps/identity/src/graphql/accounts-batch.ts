/** Accounts by id in one statement, limited to the caller's tenant (the subgraph's DataLoader). */
import type { Queryable } from '@bulwark/db';

export interface AccountNode {
  id: string;
  email: string;
  displayName: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function accountsByIds(db: Queryable, tenantId: string, ids: readonly string[]): Promise<Map<string, AccountNode>> {
  const valid = ids.filter((id) => UUID.test(id));
  if (valid.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; email: string; display_name: string | null }>({
    name: 'identity.graphql.accounts_by_ids',
    text: 'SELECT id, email, display_name FROM users WHERE id = ANY($1::uuid[]) AND tenant_id = $2',
    values: [valid, tenantId],
  });
  return new Map(rows.map((r) => [r.id, { id: r.id, email: r.email, displayName: r.display_name }]));
}
