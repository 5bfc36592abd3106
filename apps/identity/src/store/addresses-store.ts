/**
 * SQL of saved addresses; every statement is scoped to the owning user.
 * Built with the typed query builder of @bulwark/db (the rows are typed by the
 * table definitions in tables.ts) and run by the pool under the same statement
 * names as before.
 */
import { createQueryBuilder, runQuery, sql, type Queryable, type Selectable } from '@bulwark/db';
import type { AddressesTable, IdentityTables } from './tables.ts';

export interface AddressInput {
  label: string | null;
  line1: string;
  city: string;
  postalCode: string;
  country: string;
  isDefault: boolean;
}

export interface Address extends AddressInput {
  id: string;
  createdAt: string;
}

const qb = createQueryBuilder<IdentityTables>();

const COLUMNS = ['id', 'label', 'line1', 'city', 'postal_code', 'country', 'is_default', 'created_at'] as const;

type AddressRow = Pick<Selectable<AddressesTable>, (typeof COLUMNS)[number]>;

const toAddress = (r: AddressRow): Address => ({ id: r.id, label: r.label, line1: r.line1, city: r.city, postalCode: r.postal_code, country: r.country, isDefault: r.is_default, createdAt: r.created_at.toISOString() });

const fields = (a: AddressInput) => ({ label: a.label, line1: a.line1, city: a.city, postal_code: a.postalCode, country: a.country, is_default: a.isDefault });

export async function listAddresses(db: Queryable, userId: string): Promise<Address[]> {
  const { rows } = await runQuery(db, 'identity.list_addresses', qb.selectFrom('addresses').select(COLUMNS).where('user_id', '=', userId).orderBy('created_at').orderBy('id'));
  return rows.map(toAddress);
}

/** Locks the user's row: address changes of one account run one at a time (limit, single default). */
export async function lockAddressBook(tx: Queryable, userId: string): Promise<number> {
  await runQuery(tx, 'identity.lock_user', qb.selectFrom('users').select(sql<number>`1`.as('one')).where('id', '=', userId).forUpdate());
  const { rows } = await runQuery(tx, 'identity.count_addresses', qb.selectFrom('addresses').select(sql<number>`count(*)::int`.as('n')).where('user_id', '=', userId));
  return rows[0]!.n;
}

export async function clearDefault(tx: Queryable, userId: string): Promise<void> {
  await runQuery(tx, 'identity.clear_default_address', qb.updateTable('addresses').set({ is_default: false, updated_at: sql`now()` }).where('user_id', '=', userId).where('is_default', '=', true));
}

export async function insertAddress(tx: Queryable, userId: string, id: string, a: AddressInput): Promise<Address> {
  const { rows } = await runQuery(tx, 'identity.insert_address', qb.insertInto('addresses').values({ id, user_id: userId, ...fields(a) }).returning(COLUMNS));
  return toAddress(rows[0]!);
}

export async function updateAddress(tx: Queryable, userId: string, id: string, a: AddressInput): Promise<Address | undefined> {
  const { rows } = await runQuery(tx, 'identity.update_address', qb.updateTable('addresses').set({ ...fields(a), updated_at: sql`now()` }).where('id', '=', id).where('user_id', '=', userId).returning(COLUMNS));
  return rows[0] && toAddress(rows[0]);
}

export async function deleteAddress(db: Queryable, userId: string, id: string): Promise<boolean> {
  const { rowCount } = await runQuery(db, 'identity.delete_address', qb.deleteFrom('addresses').where('id', '=', id).where('user_id', '=', userId));
  return rowCount === 1;
}
