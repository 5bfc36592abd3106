/**
 * Applying events without letting one of them stop a projection. A batch is
 * applied under a savepoint. When it fails because of an event — the event
 * breaks the order's rules (ORDERS_* domain codes, e.g. an OrderCancelled
 * before OrderCreated, money past safe integers), its data does not match
 * its schema, or PostgreSQL refuses the values it leads to (SQLSTATE classes
 * 22 data exception and 23 integrity) — the batch is applied again event by
 * event, each under its own savepoint, and the events that still fail are
 * parked (`projection_parked_events`) and skipped. Every other error
 * (connection lost, missing table, lock or statement timeout, a bug) is not
 * the event's fault and parking would drop good events: it propagates, the
 * projector retries the batch with backoff and readiness reports it stuck.
 */
import { sqlStateOf, type Queryable } from '@bulwark/db';
import { isAppError } from '@bulwark/errors';
import type { OrdersErrorCode } from '../errors.ts';
import type { RecordedEvent } from '../store/event-store.ts';
import { parkEvent, type ParkedEvent } from '../store/parked-events.ts';
import type { Projection, TableNames } from './projection.ts';

/** Domain codes that say "this event cannot be applied", never "the system is unwell". */
const EVENT_FAULT_CODES: ReadonlySet<string> = new Set<OrdersErrorCode>(['ORDERS_NOT_FOUND', 'ORDERS_ALREADY_EXISTS', 'ORDERS_INVALID_STATE', 'ORDERS_RULE_VIOLATED', 'ORDERS_EVENT_UNPROCESSABLE']);

/** True when `err` is the fault of the event being applied (park it), false when the batch should be retried. */
export function isEventFault(err: unknown): boolean {
  if (isAppError(err)) return EVENT_FAULT_CODES.has(err.code);
  const state = sqlStateOf(err);
  return state !== undefined && (state.startsWith('22') || state.startsWith('23'));
}

function describe(err: unknown): { code: string | null; message: string } {
  const code = isAppError(err) ? err.code : (sqlStateOf(err) ?? null);
  return { code, message: err instanceof Error ? err.message : String(err) };
}

async function inSavepoint(db: Queryable, name: string, fn: () => Promise<void>): Promise<void> {
  await db.query(`SAVEPOINT ${name}`);
  try {
    await fn();
  } catch (err) {
    // A failed rollback (connection gone) is the error to report: the transaction is unusable.
    await db.query(`ROLLBACK TO SAVEPOINT ${name}`);
    throw err;
  }
  await db.query(`RELEASE SAVEPOINT ${name}`);
}

export interface Parked {
  event: ParkedEvent;
  /** False when this event was parked already (a rebuild meeting it again). */
  isNew: boolean;
  error: unknown;
}

/**
 * Applies `events` (in the caller's transaction) and parks the ones that
 * cannot be applied; returns those. The good events of a batch holding a bad
 * one are all applied, in order.
 */
export async function applyOrPark(db: Queryable, projection: Projection, events: readonly RecordedEvent[], tables: TableNames): Promise<Parked[]> {
  try {
    await inSavepoint(db, 'projection_batch', () => projection.apply(db, events, tables));
    return [];
  } catch (err) {
    if (!isEventFault(err)) throw err;
  }
  const parked: Parked[] = [];
  for (const event of events) {
    try {
      await inSavepoint(db, 'projection_event', () => projection.apply(db, [event], tables));
    } catch (err) {
      if (!isEventFault(err)) throw err;
      const { parked: row, isNew } = await parkEvent(db, projection.name, event, describe(err));
      parked.push({ event: row, isNew, error: err });
    }
  }
  return parked;
}
