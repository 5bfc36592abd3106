/**
 * What an analytics event is: the envelope every event shares and the
 * properties each event type may carry (zod, one schema per type). Pure:
 * `validateEvents` splits a batch into the rows to accept and one error per
 * refused row, named by index, id and JSON pointer, so that the good rows of a
 * batch are accepted and the bad ones reported.
 */
import { z } from 'zod';

const Str = (max: number) => z.string().min(1).max(max);
const Scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);

/** Properties per event type accepted over REST; anything else is refused per row. */
export const EVENT_TYPE_PROPS = {
  'page-view': z.object({ path: Str(2048), referrer: z.string().max(2048).optional(), title: z.string().max(512).optional() }).strict(),
  click: z.object({ target: Str(512), path: z.string().max(2048).optional() }).strict(),
  purchase: z.object({ orderId: Str(128), amountCents: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) }).strict(),
  signup: z.object({ method: z.string().max(64).optional() }).strict(),
  custom: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/), Scalar).refine((r) => Object.keys(r).length <= 50, 'at most 50 properties'),
} as const;

export type ApiEventType = keyof typeof EVENT_TYPE_PROPS;
export const API_EVENT_TYPES = Object.keys(EVENT_TYPE_PROPS) as ApiEventType[];

/** The envelope of an event sent to POST /v1/events; `props` is checked against its type afterwards. */
export const EventEnvelope = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/).describe('Unique per tenant: a resend with the same id and occurredAt is stored once.'),
  type: z.string().min(1).max(64).describe(`One of ${API_EVENT_TYPES.join(', ')}.`),
  occurredAt: z.iso.datetime({ offset: true }).describe('When it happened (RFC 3339); within ACCEPT_PAST_DAYS before and ACCEPT_FUTURE_MS after now.'),
  userId: z.string().min(1).max(128).optional().describe('The acting user, if any.'),
  props: z.unknown().optional().describe('Properties of the type (see the type list); {} when absent.'),
}).strict();

/** An accepted event as it travels through the ingest topic and lands in PostgreSQL. */
export interface AnalyticsEvent {
  tenant: string;
  id: string;
  type: string;
  /** ISO 8601, UTC. */
  occurredAt: string;
  userId: string | null;
  /** 'api', or the platform topic the event came from. */
  source: string;
  props: Record<string, unknown>;
}

/** One refused row of a batch, as it appears in the problem's (or report's) `errors`. */
export interface RowError {
  index: number;
  id: string | undefined;
  /** JSON pointer into the request body. */
  pointer: string;
  detail: string;
}

export interface AcceptWindow {
  now: Date;
  pastDays: number;
  futureMs: number;
}

export interface ValidationResult {
  accepted: AnalyticsEvent[];
  errors: RowError[];
}

const pointerOf = (base: string, path: readonly PropertyKey[]): string => [base, ...path.map((p) => String(p).replaceAll('~', '~0').replaceAll('/', '~1'))].join('/');

function firstIssue(base: string, error: z.ZodError): { pointer: string; detail: string } {
  const issue = error.issues[0]!;
  return { pointer: pointerOf(base, issue.path), detail: issue.message };
}

/**
 * Validates each row on its own. `base` is the pointer of the array in the
 * body (`/events`, or '' for a single event sent alone).
 */
export function validateEvents(rows: readonly unknown[], tenant: string, window: AcceptWindow, base = '/events'): ValidationResult {
  const accepted: AnalyticsEvent[] = [];
  const errors: RowError[] = [];
  const oldest = window.now.getTime() - window.pastDays * 86_400_000;
  const newest = window.now.getTime() + window.futureMs;
  rows.forEach((row, index) => {
    const at = base === '' ? '' : `${base}/${index}`;
    const idOf = typeof row === 'object' && row !== null && typeof (row as { id?: unknown }).id === 'string' ? (row as { id: string }).id : undefined;
    const envelope = EventEnvelope.safeParse(row);
    if (!envelope.success) return void errors.push({ index, id: idOf, ...firstIssue(at, envelope.error) });
    const event = envelope.data;
    const schema = (EVENT_TYPE_PROPS as Record<string, z.ZodType>)[event.type];
    if (!schema) return void errors.push({ index, id: event.id, pointer: `${at}/type`, detail: `unknown event type ${JSON.stringify(event.type)} (one of ${API_EVENT_TYPES.join(', ')})` });
    const props = schema.safeParse(event.props ?? {});
    if (!props.success) return void errors.push({ index, id: event.id, ...firstIssue(`${at}/props`, props.error) });
    const time = new Date(event.occurredAt).getTime();
    if (time < oldest || time > newest) {
      return void errors.push({ index, id: event.id, pointer: `${at}/occurredAt`, detail: `occurredAt must lie between ${new Date(oldest).toISOString()} and ${new Date(newest).toISOString()}` });
    }
    accepted.push({ tenant, id: event.id, type: event.type, occurredAt: new Date(time).toISOString(), userId: event.userId ?? null, source: 'api', props: props.data as Record<string, unknown> });
  });
  return { accepted, errors };
}
