/**
 * Email/SMS routes, the suppression list, and the providers' signed
 * delivery/bounce/complaint webhooks (verified over the raw bytes).
 */
import type { Request } from 'express';
import type { DbPool } from '@bulwark/db';
import { assertSafeInput, type RouteRegistrar } from '@bulwark/service-kit';
import { SIGNATURE_HEADER, signatureInvalid, verifySignature } from '@bulwark/webhook-signature';
import { applyProviderEvent, ProviderEvent } from '../domain/apply-provider-event.ts';
import { queueMessage } from '../domain/send-message.ts';
import { notificationsError } from '../errors.ts';
import type { NotificationsMetrics } from '../metrics.ts';
import type { ProviderHealth } from '../providers/provider-health.ts';
import { findMessage, listSuppressions, type Channel } from '../store/messages-store.ts';
import type { TemplateRegistry } from '../templates.ts';
import { MessageParams, MessageResponse, ProviderEventResponse, ProviderHealthResponse, ProviderParams, SendMessageBody, SuppressionListResponse, SuppressionQuery, TenantParams } from './schemas.ts';

const MAX_PROVIDER_EVENT_BYTES = 64 * 1024;

async function readRaw(req: Request): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_PROVIDER_EVENT_BYTES) throw notificationsError('NOTIFICATIONS_PAYLOAD_TOO_LARGE', `provider event larger than ${MAX_PROVIDER_EVENT_BYTES} bytes`, { max: MAX_PROVIDER_EVENT_BYTES });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface MessageRoutesDeps {
  pool: DbPool;
  templates: TemplateRegistry;
  providerFor: (channel: Channel) => string;
  providerSecrets: () => readonly string[];
  toleranceSeconds: number;
  metrics: NotificationsMetrics;
  providerHealth: ProviderHealth;
  dispatch: () => void;
}

export function registerMessageRoutes(r: RouteRegistrar, deps: MessageRoutesDeps): void {
  r.post('/v1/tenants/:tenantId/messages', {
    summary: 'Send an email or SMS from a template (422 on missing variables or a suppressed recipient); same idempotencyKey → same message',
    errors: ['NOTIFICATIONS_TEMPLATE_NOT_FOUND', 'NOTIFICATIONS_TEMPLATE_VARIABLE_MISSING', 'NOTIFICATIONS_RECIPIENT_SUPPRESSED', 'NOTIFICATIONS_IDEMPOTENCY_KEY_REUSED'],
    params: TenantParams,
    body: SendMessageBody,
    responses: { 202: MessageResponse, 200: MessageResponse },
    handler: async ({ params, body }) => {
      const { message, created } = await queueMessage(deps, { tenantId: params.tenantId, ...body });
      if (created) deps.dispatch();
      return { status: created ? 202 : 200, body: message };
    },
  });
  r.get('/v1/tenants/:tenantId/messages/:messageId', {
    summary: 'A message with its tracking state',
    errors: ['NOTIFICATIONS_MESSAGE_NOT_FOUND'],
    params: MessageParams,
    responses: { 200: MessageResponse },
    handler: async ({ params }) => {
      const m = await findMessage(deps.pool, params.tenantId, params.messageId);
      if (!m) throw notificationsError('NOTIFICATIONS_MESSAGE_NOT_FOUND', `no message ${params.messageId}`, { messageId: params.messageId });
      return { status: 200, body: m };
    },
  });
  r.get('/v1/providers/health', {
    summary: 'Whether each email/SMS provider would take a message now (SMTP: connect and greet), checked on this request',
    responses: { 200: ProviderHealthResponse },
    handler: async () => ({ status: 200, body: { providers: await deps.providerHealth.check() } }),
  });
  r.get('/v1/suppressions', {
    summary: 'The suppression list (bounces and complaints), newest first',
    query: SuppressionQuery,
    responses: { 200: SuppressionListResponse },
    handler: async ({ query }) => ({ status: 200, body: { suppressions: await listSuppressions(deps.pool, query.channel, query.limit) } }),
  });
  r.post('/v1/providers/:provider/events', {
    summary: 'Provider delivery report, bounce or complaint (Bulwark-Signature verified); bounces and complaints feed the suppression list',
    errors: ['WEBHOOK_SIGNATURE_INVALID', 'NOTIFICATIONS_PAYLOAD_TOO_LARGE', 'NOTIFICATIONS_PROVIDER_EVENT_INVALID', 'NOTIFICATIONS_PROVIDER_MESSAGE_UNKNOWN', 'JSON_TOO_DEEP'],
    headers: [{ name: SIGNATURE_HEADER, required: true, description: 'HMAC-SHA256 signature of the raw body (@bulwark/webhook-signature).' }],
    rawBody: { schema: ProviderEvent },
    params: ProviderParams,
    responses: { 200: ProviderEventResponse },
    handler: async ({ params, req, log }) => {
      const raw = await readRaw(req);
      const verdict = verifySignature(req.get(SIGNATURE_HEADER), raw, deps.providerSecrets(), { toleranceSeconds: deps.toleranceSeconds });
      if (!verdict.ok) {
        deps.metrics.providerEvents.inc({ type: 'unknown', outcome: 'bad_signature' });
        log.warn({ reason: verdict.reason, provider: params.provider }, 'provider webhook signature rejected');
        throw signatureInvalid(verdict.reason);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw notificationsError('NOTIFICATIONS_PROVIDER_EVENT_INVALID', 'the provider event is not JSON');
      }
      assertSafeInput(json); // what the kit refuses in a body it parses (U+0000, lone surrogates, depth): 400, not a 500 from PostgreSQL
      const parsed = ProviderEvent.safeParse(json);
      if (!parsed.success) {
        throw notificationsError('NOTIFICATIONS_PROVIDER_EVENT_INVALID', 'the provider event is not a delivery report, bounce or complaint', {
          issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
        });
      }
      const result = await applyProviderEvent(deps.pool, params.provider, parsed.data);
      deps.metrics.providerEvents.inc({ type: parsed.data.type, outcome: result.outcome });
      return { status: 200, body: { received: true as const, ...result } };
    },
  });
}
