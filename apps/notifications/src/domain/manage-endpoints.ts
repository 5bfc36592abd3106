/**
 * Endpoint use cases: register (SSRF-checked URL, first secret shown once),
 * update, disable/enable, rotate the secret (the previous one keeps signing
 * for a grace period: two active secrets), send a test event, replay
 * deliveries, and recover events an endpoint missed (published while it was
 * disabled) from the retained event log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { notificationsError } from '../errors.ts';
import { checkEndpointUrl, type SsrfPolicy } from '../ssrf.ts';
import { findEndpoint, insertEndpoint, rotateSecret, setEndpointStatus, updateEndpoint, type Endpoint } from '../store/endpoints-store.ts';
import { insertDelivery, replayDeliveries, type Delivery, type DeliveryStatus } from '../store/deliveries-store.ts';
import { countMissedEvents, insertMissedDeliveries } from '../store/events-store.ts';
import { assertPayloadSize, eventPayload } from './publish-event.ts';

export const TEST_EVENT = 'bulwark.test';

export interface EndpointDeps {
  pool: DbPool;
  ssrf: SsrfPolicy;
  rotationGraceSeconds: number;
  maxPayloadBytes: number;
  /** How long events are kept (EVENTS_RETENTION_HOURS), ms. */
  eventRetentionMs: number;
  /** Called after writes that create pending deliveries. */
  dispatch: () => void;
}

export function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64url')}`;
}

function notFound(id: string): Error {
  return notificationsError('NOTIFICATIONS_ENDPOINT_NOT_FOUND', `no endpoint ${id}`, { endpointId: id });
}

export async function registerEndpoint(
  deps: EndpointDeps,
  input: { tenantId: string; url: string; description: string; eventTypes: string[]; ordered: boolean },
): Promise<{ endpoint: Endpoint; secret: string }> {
  const url = await checkEndpointUrl(input.url, deps.ssrf);
  const secret = newSecret();
  const endpoint = await withTransaction(deps.pool, (tx) => insertEndpoint(tx, { id: randomUUID(), ...input, url: url.href, eventTypes: [...new Set(input.eventTypes)], secret }));
  return { endpoint, secret };
}

export async function changeEndpoint(
  deps: EndpointDeps,
  tenantId: string,
  id: string,
  patch: { url?: string; description?: string; eventTypes?: string[]; ordered?: boolean; enabled?: boolean },
): Promise<Endpoint> {
  const url = patch.url === undefined ? undefined : (await checkEndpointUrl(patch.url, deps.ssrf)).href;
  const endpoint = await withTransaction(deps.pool, async (tx) => {
    const before = await findEndpoint(tx, tenantId, id, true);
    if (!before) throw notFound(id);
    let e = await updateEndpoint(tx, tenantId, id, { url, description: patch.description, eventTypes: patch.eventTypes && [...new Set(patch.eventTypes)], ordered: patch.ordered });
    // Re-enabling here is the same act as POST …/enable: the events missed while disabled are delivered too (never lost to the choice of call).
    if (patch.enabled === true) e = (await reenable(deps, tx, tenantId, id, before, true)).endpoint;
    else if (patch.enabled === false) e = await setEndpointStatus(tx, tenantId, id, 'disabled');
    return e!;
  });
  if (patch.enabled) deps.dispatch(); // deliveries that waited for the endpoint, and the recovered ones
  return endpoint;
}

export async function rotateEndpointSecret(deps: EndpointDeps, tenantId: string, id: string, graceSeconds?: number): Promise<{ secret: string; version: number; previousExpiresAt: string | null }> {
  const secret = newSecret();
  return withTransaction(deps.pool, async (tx) => {
    if (!(await findEndpoint(tx, tenantId, id, true))) throw notFound(id);
    const r = await rotateSecret(tx, id, secret, graceSeconds ?? deps.rotationGraceSeconds);
    return { secret, ...r };
  });
}

export async function sendTestEvent(deps: EndpointDeps, tenantId: string, id: string, data: unknown): Promise<Delivery> {
  const delivery = await withTransaction(deps.pool, async (tx) => {
    const endpoint = await findEndpoint(tx, tenantId, id);
    if (!endpoint) throw notFound(id);
    if (endpoint.status === 'disabled') throw notificationsError('NOTIFICATIONS_ENDPOINT_DISABLED', `endpoint ${id} is disabled`, { endpointId: id, reason: endpoint.disabledReason });
    const eventId = randomUUID();
    const payload = eventPayload({ id: eventId, type: TEST_EVENT, occurredAt: new Date().toISOString(), data: data ?? { test: true } });
    assertPayloadSize(payload, deps.maxPayloadBytes);
    return (await insertDelivery(tx, { id: randomUUID(), endpointId: id, tenantId, eventId, eventType: TEST_EVENT, payload }))!;
  });
  deps.dispatch();
  return delivery;
}

export async function replay(
  deps: EndpointDeps,
  q: { tenantId: string; ids?: string[]; endpointId?: string; status?: DeliveryStatus; from?: Date; to?: Date; limit: number },
): Promise<string[]> {
  const ids = await withTransaction(deps.pool, (tx) => replayDeliveries(tx, q));
  deps.dispatch();
  return ids;
}

/** Most deliveries one enable creates; `next` continues past it. */
export const RECOVER_MAX = 10_000;

/**
 * Most events of the range one recovery looks at (those the endpoint has
 * included), so a call over a long range costs a bounded scan (~10 µs an
 * event); `next` continues past it.
 */
export const RECOVER_SCAN_MAX = 100_000;

/**
 * How far before `disabledAt` an enable looks back. An event's time is its
 * publish transaction's start, and that transaction's fan-out may run after
 * the disable committed (it then creates no delivery) though the event is
 * older than `disabledAt`; the once-per-event index keeps the look-back from
 * duplicating what the endpoint got.
 */
export const ENABLE_LOOKBACK_MS = 5 * 60_000;

export interface Recovery {
  /** Deliveries created (events the endpoint had none of). */
  recovered: number;
  deliveryIds: string[];
  from: string;
  /** The end of the range; without one given, the time of the answer. */
  to: string;
  /** Events before this time may have been deleted by the retention sweep. */
  retainedSince: string;
  /** Set when `limit` deliveries were created or RECOVER_SCAN_MAX events looked at: call again with it as `from` (idempotent). */
  next: string | null;
}

async function recoverInto(
  deps: EndpointDeps,
  tx: Queryable,
  tenantId: string,
  endpointId: string,
  range: { from: Date; to: Date | undefined; limit: number },
): Promise<Recovery> {
  const r = await insertMissedDeliveries(tx, { tenantId, endpointId, ...range, scanMax: RECOVER_SCAN_MAX });
  return {
    recovered: r.deliveryIds.length,
    deliveryIds: r.deliveryIds,
    from: range.from.toISOString(),
    to: (range.to ?? new Date()).toISOString(),
    retainedSince: new Date(Date.now() - deps.eventRetentionMs).toISOString(),
    next: r.next,
  };
}

/**
 * Creates the deliveries an active endpoint is missing for the tenant's
 * retained events in [from, to) that its filter matches (events published
 * while it was disabled, or before it was registered); an event it already
 * has a delivery of, whatever that delivery's state, gets none.
 */
export async function recoverMissedEvents(deps: EndpointDeps, tenantId: string, id: string, range: { from: Date; to?: Date; limit: number }): Promise<Recovery> {
  const retainedSince = new Date(Date.now() - deps.eventRetentionMs);
  if (range.to !== undefined && range.to <= retainedSince) {
    throw notificationsError('NOTIFICATIONS_RANGE_NOT_RETAINED', `the range ends before ${retainedSince.toISOString()}, the oldest time events are kept`, {
      retainedSince: retainedSince.toISOString(),
    });
  }
  const recovery = await withTransaction(deps.pool, async (tx) => {
    const endpoint = await findEndpoint(tx, tenantId, id);
    if (!endpoint) throw notFound(id);
    if (endpoint.status === 'disabled') throw notificationsError('NOTIFICATIONS_ENDPOINT_DISABLED', `endpoint ${id} is disabled`, { endpointId: id, reason: endpoint.disabledReason });
    return recoverInto(deps, tx, tenantId, id, { from: range.from, to: range.to, limit: range.limit });
  });
  if (recovery.recovered > 0) deps.dispatch();
  return recovery;
}

export interface EnableResult {
  endpoint: Endpoint;
  recovery: Recovery | null;
  /**
   * Retained events since the disable that the endpoint still has no
   * delivery of after this call (recoverMissed false, or past RECOVER_MAX):
   * `POST …/recover {from}` delivers them. Null when it was not disabled.
   */
  missed: { count: number; more: boolean; from: string } | null;
}

/** Most missed events an enable counts (`missed.more` says there are more). */
export const MISSED_COUNT_MAX = 100_000;

/**
 * Re-enables an endpoint (health reset) and, unless told not to, creates in
 * the same transaction the deliveries of the events published since it was
 * disabled (from ENABLE_LOOKBACK_MS before; at most RECOVER_MAX, `next` says
 * where to continue).
 */
export async function enableEndpoint(deps: EndpointDeps, tenantId: string, id: string, recoverMissed: boolean): Promise<EnableResult> {
  const result = await withTransaction(deps.pool, async (tx): Promise<EnableResult> => {
    const before = await findEndpoint(tx, tenantId, id, true);
    if (!before) throw notFound(id);
    return reenable(deps, tx, tenantId, id, before, recoverMissed);
  });
  deps.dispatch(); // deliveries that waited for the endpoint, and the recovered ones
  return result;
}

/** The enable itself, inside the caller's transaction (POST …/enable, and PATCH with enabled: true). */
async function reenable(deps: EndpointDeps, tx: Queryable, tenantId: string, id: string, before: Endpoint, recoverMissed: boolean): Promise<EnableResult> {
  const endpoint = (await setEndpointStatus(tx, tenantId, id, 'active'))!;
  if (before.status !== 'disabled' || before.disabledAt === null) return { endpoint, recovery: null, missed: null };
  const from = new Date(Date.parse(before.disabledAt) - ENABLE_LOOKBACK_MS);
  // No upper bound: what is published after this commits finds the endpoint active; the once-per-event index takes any overlap.
  const recovery = recoverMissed ? await recoverInto(deps, tx, tenantId, id, { from, to: undefined, limit: RECOVER_MAX }) : null;
  const missed = await countMissedEvents(tx, { tenantId, endpointId: id, from, max: MISSED_COUNT_MAX });
  return { endpoint, recovery, missed: { count: Math.min(missed, MISSED_COUNT_MAX), more: missed > MISSED_COUNT_MAX, from: from.toISOString() } };
}
