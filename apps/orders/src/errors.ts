/**
 * Error codes of the orders service, registered once at import. Each code
 * means one thing forever; the service kit maps them to problem+json.
 */
import { AppError, registerErrorCodes, type ErrorCodeInfo } from '@bulwark/errors';

export const ORDERS_ERROR_CODES = [
  {
    code: 'ORDERS_VERSION_CONFLICT',
    status: 409,
    title: 'Version conflict',
    description: 'The stream is not at the expected version (If-Match / expectedVersion): someone else wrote first. Re-read the order and retry the command.',
  },
  {
    code: 'ORDERS_NOT_FOUND',
    status: 404,
    title: 'Order not found',
    description: 'No order exists with this id (for queries: not projected yet, or never created).',
  },
  {
    code: 'ORDERS_NOT_YOUR_CUSTOMER',
    status: 403,
    title: 'Not your customer id',
    description: 'Behind the gateway a caller creates and lists orders for itself only: the customer id must be the subject of its token.',
  },
  {
    code: 'ORDERS_FULFILMENT_ONLY',
    status: 403,
    title: 'Fulfilment only',
    description: 'Behind the gateway only the fulfilment role (or admin) marks an order shipped; a customer cannot ship its own order.',
  },
  {
    code: 'ORDERS_ALREADY_EXISTS',
    status: 409,
    title: 'Order already exists',
    description: 'An order with this id was already created; use a new id or read the existing order.',
  },
  {
    code: 'ORDERS_INVALID_STATE',
    status: 409,
    title: 'Order is in the wrong state',
    description: 'The command is not allowed in the order\'s current status (e.g. adding items after placing, cancelling after shipping).',
  },
  {
    code: 'ORDERS_RULE_VIOLATED',
    status: 422,
    title: 'Business rule violated',
    description: 'The command is well-formed but breaks a business rule (e.g. placing an order without items or address, removing an item that is not there).',
  },
  {
    code: 'ORDERS_INVALID_PRECONDITION',
    status: 400,
    title: 'Invalid expected version',
    description: 'If-Match is not a stream version ETag ("3"), or it disagrees with the body\'s expectedVersion.',
  },
  {
    code: 'ORDERS_EVENT_UNPROCESSABLE',
    status: 500,
    title: 'Stored event cannot be processed',
    description: 'An event in the log has an unknown type or data that does not match its schema. Never answered to a request: a projection parks such an event (GET /projections/{name}/parked) and goes on.',
  },
  {
    code: 'ORDERS_UNKNOWN_PROJECTION',
    status: 404,
    title: 'Unknown projection',
    description: 'No projection with this name is registered.',
  },
] as const satisfies readonly ErrorCodeInfo[];

registerErrorCodes(ORDERS_ERROR_CODES);

export type OrdersErrorCode = (typeof ORDERS_ERROR_CODES)[number]['code'];

function statusOf(code: OrdersErrorCode): number {
  return ORDERS_ERROR_CODES.find((c) => c.code === code)!.status;
}

/** The one way this service raises its codes. */
export function ordersError(code: OrdersErrorCode, message: string, extensions?: Record<string, unknown>): AppError {
  return new AppError(code, message, { status: statusOf(code), extensions });
}

export class VersionConflictError extends AppError {
  constructor(streamId: string, expectedVersion: number, actualVersion: number | undefined) {
    super('ORDERS_VERSION_CONFLICT', `stream ${streamId} is not at version ${expectedVersion}`, {
      status: 409,
      extensions: { streamId, expectedVersion, ...(actualVersion === undefined ? {} : { actualVersion }) },
    });
    this.name = 'VersionConflictError';
  }
}
