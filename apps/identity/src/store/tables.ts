/**
 * The identity tables the query builder knows (store modules built with
 * `createQueryBuilder<IdentityTables>()`), as the migrations define them.
 * Only the tables and columns converted stores use; the rest of the SQL is
 * hand-written. `tenant_id` is filled by its default (the transaction's tenant).
 */
import type { Generated } from '@bulwark/db';

export interface AddressesTable {
  id: string;
  user_id: string;
  tenant_id: Generated<string>;
  label: string | null;
  line1: string;
  city: string;
  postal_code: string;
  country: string;
  is_default: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface UsersTable {
  id: string;
}

export interface IdentityTables {
  addresses: AddressesTable;
  users: UsersTable;
}
