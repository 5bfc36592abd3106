/** Request and response schemas of the notifications API (validation and /openapi.json). */
import { z } from 'zod';

const tenantId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const eventType = z.string().regex(/^(\*|[a-z0-9][a-z0-9._-]{0,127})$/, 'an event type (lower-case letters, digits, . _ -) or *');

export const TenantParams = z.object({ tenantId });
export const EndpointParams = z.object({ tenantId, id: z.uuid() });
export const DeliveryParams = z.object({ tenantId, deliveryId: z.uuid() });
export const MessageParams = z.object({ tenantId, messageId: z.uuid() });
export const ProviderParams = z.object({ provider: z.enum(['smtp', 'sms']) });

export const CreateEndpointBody = z.strictObject({
  url: z.string().min(1).max(2048),
  eventTypes: z.array(eventType).min(1).max(100),
  description: z.string().max(500).default(''),
  ordered: z.boolean().default(false),
});
export const UpdateEndpointBody = z
  .strictObject({
    url: z.string().min(1).max(2048).optional(),
    eventTypes: z.array(eventType).min(1).max(100).optional(),
    description: z.string().max(500).optional(),
    ordered: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export const RotateBody = z.strictObject({ graceSeconds: z.number().int().min(0).max(30 * 86_400).optional() }).default({});
/** Any JSON; one named schema (`JsonValue` in /openapi.json) rather than a copy per body. */
const JsonValue = z.json().meta({ id: 'JsonValue' });

export const TestEventBody = z.strictObject({ data: JsonValue.optional() }).default({});
export const PublishEventBody = z.strictObject({
  id: z.string().min(1).max(200).optional().describe('Event id; receivers deduplicate by it, and each endpoint gets an id once. Default: a new UUID.'),
  type: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,127}$/),
  data: JsonValue,
});

const iso = z.iso.datetime({ offset: true }).transform((v) => new Date(v));
const status = z.enum(['pending', 'succeeded', 'dead']);

export const DeliveryQuery = z.object({
  endpointId: z.uuid().optional(),
  status: status.optional(),
  eventType: z.string().max(128).optional(),
  from: iso.optional(),
  to: iso.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.coerce.number().int().min(0).optional().describe('Cursor: `next` of the previous page.'),
});
export const ReplayRangeBody = z
  .strictObject({
    endpointId: z.uuid().optional(),
    status: status.optional(),
    from: iso,
    to: iso,
    limit: z.number().int().min(1).max(10_000).default(1_000),
  })
  .refine((b) => b.from < b.to, { message: 'from must be before to', path: ['to'] });

export const EnableBody = z
  .strictObject({ recoverMissed: z.boolean().default(true).describe('Also deliver the retained events published while the endpoint was disabled.') })
  .default({ recoverMissed: true });
export const RecoverBody = z
  .strictObject({
    from: iso,
    to: iso.optional().describe('Default: up to the newest event.'),
    limit: z.number().int().min(1).max(10_000).default(1_000).describe('Most deliveries created; `next` continues.'),
  })
  .refine((b) => b.to === undefined || b.from < b.to, { message: 'from must be before to', path: ['to'] });

export const SendMessageBody = z
  .strictObject({
    channel: z.enum(['email', 'sms']),
    to: z.string().min(3).max(320),
    template: z.string().regex(/^[a-z0-9-]{1,64}$/),
    locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/).default('en'),
    vars: z.record(z.string().regex(/^[A-Za-z0-9_.]+$/), z.union([z.string().max(2000), z.number(), z.boolean()])).default({}),
    idempotencyKey: z.string().min(1).max(255).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.channel === 'email' && !z.email().safeParse(b.to).success) ctx.addIssue({ code: 'custom', path: ['to'], message: 'not an email address' });
    if (b.channel === 'sms' && !/^\+[1-9][0-9]{6,14}$/.test(b.to.replace(/[\s()-]/g, ''))) ctx.addIssue({ code: 'custom', path: ['to'], message: 'not an E.164 phone number' });
  });

export const EndpointResponse = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  ordered: z.boolean(),
  status: z.enum(['active', 'disabled']),
  disabledReason: z.string().nullable(),
  disabledAt: z.string().nullable(),
  consecutiveFailures: z.number().int(),
  breakerOpenUntil: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const CreatedEndpointResponse = z.object({ endpoint: EndpointResponse, secret: z.string().describe('Signing secret; shown only here and at rotation.') });
export const EndpointListResponse = z.object({ endpoints: z.array(EndpointResponse) });
export const RotateResponse = z.object({ secret: z.string(), version: z.number().int(), previousExpiresAt: z.string().nullable() });

export const AttemptResponse = z.object({
  attempt: z.number().int(),
  ok: z.boolean(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number(),
  responseSnippet: z.string(),
  error: z.string().nullable(),
  attemptedAt: z.string(),
});
export const DeliveryResponse = z.object({
  id: z.uuid(),
  endpointId: z.uuid(),
  tenantId: z.string(),
  eventId: z.string(),
  eventType: z.string(),
  status,
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  replayOf: z.uuid().nullable(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export const DeliveryDetailResponse = DeliveryResponse.extend({ attemptLog: z.array(AttemptResponse) });
export const DeliveryListResponse = z.object({ deliveries: z.array(DeliveryResponse), next: z.number().int().nullable() });
export const PublishResponse = z.object({ eventId: z.string(), deliveries: z.array(z.object({ id: z.uuid(), endpointId: z.uuid() })) });
export const ReplayResponse = z.object({ replayed: z.number().int(), deliveryIds: z.array(z.uuid()) });

export const RecoveryResponse = z.object({
  recovered: z.number().int().describe('Deliveries created: retained events of the range the endpoint had no delivery of.'),
  deliveryIds: z.array(z.uuid()),
  from: z.string(),
  to: z.string(),
  retainedSince: z.string().describe('Events older than this may have been deleted (EVENTS_RETENTION_HOURS).'),
  next: z.string().nullable().describe('When the limit was reached or 100,000 events of the range were looked at: call recover again with this as `from`.'),
});
export const EnableResponse = z.object({
  endpoint: EndpointResponse,
  recovery: RecoveryResponse.nullable(),
  missed: z
    .object({ count: z.number().int().describe('At most 100,000.'), more: z.boolean().describe('More than `count` were missed.'), from: z.string() })
    .nullable()
    .describe('Retained events since the disable still without a delivery after this call (recoverMissed false, or more than one recovery takes): POST …/recover with `from` delivers them. Null when the endpoint was not disabled.'),
});

export const MessageResponse = z.object({
  id: z.uuid(),
  tenantId: z.string(),
  channel: z.enum(['email', 'sms']),
  recipient: z.string(),
  template: z.string(),
  locale: z.string(),
  subject: z.string(),
  status: z.enum(['queued', 'sent', 'delivered', 'bounced', 'complained', 'suppressed', 'failed']),
  provider: z.string(),
  providerMessageId: z.string().nullable(),
  attempts: z.number().int(),
  error: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  bouncedAt: z.string().nullable(),
});
export const ProviderHealthResponse = z.object({
  providers: z.array(z.object({ name: z.string(), channel: z.enum(['email', 'sms']), up: z.boolean(), error: z.string().nullable(), checkedAt: z.string() })),
});
export const ProviderEventResponse = z.object({ received: z.literal(true), outcome: z.enum(['applied', 'ignored']), messageId: z.uuid(), suppressed: z.boolean() });
export const SuppressionListResponse = z.object({
  suppressions: z.array(z.object({ channel: z.string(), recipient: z.string(), reason: z.string(), messageId: z.string().nullable(), detail: z.string(), createdAt: z.string() })),
});
export const SuppressionQuery = z.object({ channel: z.enum(['email', 'sms']).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) });
