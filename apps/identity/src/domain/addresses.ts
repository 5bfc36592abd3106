/**
 * Saved addresses of the caller's account (the shape orders takes, plus a
 * label and a default flag). At most MAX_ADDRESSES per account and one
 * default: changes of one account are serialised on its user row, and
 * setting a default clears the previous one in the same transaction.
 * Addresses are under row-level security (migrations/0007): the address book
 * is read and written in the scope of the account's tenant.
 */
import { randomUUID } from 'node:crypto';
import { withTenant, withTransaction } from '@bulwark/db';
import { identityError } from '../errors.ts';
import { clearDefault, deleteAddress, insertAddress, listAddresses, lockAddressBook, updateAddress, type Address, type AddressInput } from '../store/addresses-store.ts';
import type { AccessClaims } from './access-tokens.ts';
import { liveUser } from './accounts.ts';
import type { IdentityContext } from './context.ts';

export const MAX_ADDRESSES = 20;

export async function getAddresses(ctx: IdentityContext, claims: AccessClaims): Promise<Address[]> {
  const user = await liveUser(ctx, claims);
  return withTenant(user.tenantId, () => listAddresses(ctx.pool, user.id));
}

export async function addAddress(ctx: IdentityContext, claims: AccessClaims, input: AddressInput): Promise<Address> {
  const user = await liveUser(ctx, claims);
  return withTenant(user.tenantId, () => withTransaction(ctx.pool, async (tx) => {
    const count = await lockAddressBook(tx, user.id);
    if (count >= MAX_ADDRESSES) throw identityError('IDENTITY_ADDRESS_LIMIT', `an account keeps at most ${MAX_ADDRESSES} addresses`, { extensions: { max: MAX_ADDRESSES } });
    if (input.isDefault) await clearDefault(tx, user.id);
    return insertAddress(tx, user.id, randomUUID(), { ...input, isDefault: input.isDefault || count === 0 });
  }));
}

export async function replaceAddress(ctx: IdentityContext, claims: AccessClaims, id: string, input: AddressInput): Promise<Address> {
  const user = await liveUser(ctx, claims);
  return withTenant(user.tenantId, () => withTransaction(ctx.pool, async (tx) => {
    await lockAddressBook(tx, user.id);
    if (input.isDefault) await clearDefault(tx, user.id);
    const address = await updateAddress(tx, user.id, id, input);
    if (!address) throw identityError('IDENTITY_ADDRESS_NOT_FOUND', `no address ${id}`, { extensions: { addressId: id } });
    return address;
  }));
}

export async function removeAddress(ctx: IdentityContext, claims: AccessClaims, id: string): Promise<void> {
  const user = await liveUser(ctx, claims);
  if (!(await withTenant(user.tenantId, () => deleteAddress(ctx.pool, user.id, id)))) throw identityError('IDENTITY_ADDRESS_NOT_FOUND', `no address ${id}`, { extensions: { addressId: id } });
}
