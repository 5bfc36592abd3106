/** SQL of saved addresses; every statement is scoped to the owning user. */
import type { Queryable } from '@bulwark/db';

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

interface AddressRow {
  id: string;
  label: string | null;
  line1: string;
  city: string;
  postal_code: string;
  country: string;
  is_default: boolean;
  created_at: Date;
}

const COLUMNS = 'id, label, line1, city, postal_code, country, is_default, created_at';

const toAddress = (r: AddressRow): Address => ({ id: r.id, label: r.label, line1: r.line1, city: r.city, postalCode: r.postal_code, country: r.country, isDefault: r.is_default, createdAt: r.created_at.toISOString() });

export async function listAddresses(db: Queryable, userId: string): Promise<Address[]> {
  const { rows } = await db.query<AddressRow>({ name: 'identity.list_addresses', text: `SELECT ${COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY created_at, id`, values: [userId] });
  return rows.map(toAddress);
}

/** Locks the user's row: address changes of one account run one at a time (limit, single default). */
export async function lockAddressBook(tx: Queryable, userId: string): Promise<number> {
  await tx.query({ name: 'identity.lock_user', text: 'SELECT 1 FROM users WHERE id = $1 FOR UPDATE', values: [userId] });
  const { rows } = await tx.query<{ n: number }>({ name: 'identity.count_addresses', text: 'SELECT count(*)::int AS n FROM addresses WHERE user_id = $1', values: [userId] });
  return rows[0]!.n;
}

export async function clearDefault(tx: Queryable, userId: string): Promise<void> {
  await tx.query({ name: 'identity.clear_default_address', text: 'UPDATE addresses SET is_default = false, updated_at = now() WHERE user_id = $1 AND is_default', values: [userId] });
}

export async function insertAddress(tx: Queryable, userId: string, id: string, a: AddressInput): Promise<Address> {
  const { rows } = await tx.query<AddressRow>({
    name: 'identity.insert_address',
    text: `INSERT INTO addresses (id, user_id, label, line1, city, postal_code, country, is_default) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    values: [id, userId, a.label, a.line1, a.city, a.postalCode, a.country, a.isDefault],
  });
  return toAddress(rows[0]!);
}

export async function updateAddress(tx: Queryable, userId: string, id: string, a: AddressInput): Promise<Address | undefined> {
  const { rows } = await tx.query<AddressRow>({
    name: 'identity.update_address',
    text: `UPDATE addresses SET label = $3, line1 = $4, city = $5, postal_code = $6, country = $7, is_default = $8, updated_at = now()
           WHERE id = $1 AND user_id = $2 RETURNING ${COLUMNS}`,
    values: [id, userId, a.label, a.line1, a.city, a.postalCode, a.country, a.isDefault],
  });
  return rows[0] && toAddress(rows[0]);
}

export async function deleteAddress(db: Queryable, userId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'identity.delete_address', text: 'DELETE FROM addresses WHERE id = $1 AND user_id = $2', values: [id, userId] });
  return rowCount === 1;
}
