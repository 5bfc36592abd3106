/**
 * Error codes of the inventory service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const INVENTORY_ERROR_CODES = [
  {
    code: 'INVENTORY_INSUFFICIENT_STOCK',
    status: 409,
    title: 'Insufficient stock',
    description: 'At least one SKU has fewer units available than requested; `skus` lists each with requested and available. Nothing was held.',
  },
  {
    code: 'INVENTORY_UNKNOWN_SKU',
    status: 422,
    title: 'Unknown SKU',
    description: 'The reservation names SKUs that do not exist (`skus`); create them with PUT /v1/skus/:sku first. Nothing was held.',
  },
  {
    code: 'INVENTORY_SKU_NOT_FOUND',
    status: 404,
    title: 'SKU not found',
    description: 'No SKU with this id exists.',
  },
  {
    code: 'INVENTORY_RESERVATION_NOT_FOUND',
    status: 404,
    title: 'Reservation not found',
    description: 'No reservation with this id exists.',
  },
  {
    code: 'INVENTORY_RESERVATION_NOT_HELD',
    status: 409,
    title: 'Reservation is not held',
    description: 'Confirm needs a held, unexpired reservation; this one was released (`releasedReason`: requested or expired).',
  },
  {
    code: 'INVENTORY_STOCK_BELOW_RESERVED',
    status: 409,
    title: 'Stock below reserved units',
    description: 'PUT /v1/skus/:sku cannot set onHand below the units currently held by reservations (`reserved`), nor an adjustment take it there (`onHand`, `delta`).',
  },
  {
    code: 'INVENTORY_ADMIN_ONLY',
    status: 403,
    title: 'Admin role required',
    description: 'Stock adjustments need a verified principal (x-auth-sub, set by the gateway) with the `admin` or `inventory-admin` role (`roles`).',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(INVENTORY_ERROR_CODES);

export type InventoryErrorCode = (typeof INVENTORY_ERROR_CODES)[number]['code'];

/** The one way this service raises its codes. */
export function inventoryError(code: InventoryErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  const status = INVENTORY_ERROR_CODES.find((c) => c.code === code)!.status;
  return new AppError(code, message, { status, extensions });
}
