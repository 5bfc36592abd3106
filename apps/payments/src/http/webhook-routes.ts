/**
 * POST /v1/psp/webhooks: the route declares no JSON body, so the kit leaves
 * the stream unread and the signature is checked over the exact raw bytes
 * (@bulwark/webhook-signature); only then is the JSON parsed and applied.
 */
import type { Request } from 'express';
import type { DbPool } from '@bulwark/db';
import { assertSafeInput, type RouteRegistrar } from '@bulwark/service-kit';
import { SIGNATURE_HEADER, signatureInvalid, verifySignature } from '@bulwark/webhook-signature';
import { applyPspEventAsOwner, PspEvent } from '../domain/apply-psp-event.ts';
import { paymentsError } from '../errors.ts';
import type { PaymentsMetrics } from '../metrics.ts';
import { WebhookResponse } from './schemas.ts';

const MAX_WEBHOOK_BYTES = 256 * 1024;

async function readRaw(req: Request): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_WEBHOOK_BYTES) throw paymentsError('PAYMENTS_WEBHOOK_INVALID', `webhook body larger than ${MAX_WEBHOOK_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export interface WebhookRoutesDeps {
  pool: DbPool;
  /** Active verification secrets, read per request. */
  secrets: () => readonly string[];
  toleranceSeconds: number;
  metrics: PaymentsMetrics;
}

export function registerWebhookRoutes(r: RouteRegistrar, deps: WebhookRoutesDeps): void {
  r.post('/v1/psp/webhooks', {
    summary: 'PSP webhook receiver (Bulwark-Signature verified; duplicates and out-of-order events absorbed)',
    errors: ['WEBHOOK_SIGNATURE_INVALID', 'PAYMENTS_WEBHOOK_INVALID', 'REQUEST_VALIDATION_FAILED', 'JSON_TOO_DEEP'],
    headers: [{ name: SIGNATURE_HEADER, required: true, description: 'HMAC-SHA256 signature of the raw body (@bulwark/webhook-signature).' }],
    rawBody: { schema: PspEvent },
    responses: { 200: WebhookResponse },
    handler: async ({ req, log }) => {
      const raw = await readRaw(req);
      const verdict = verifySignature(req.get(SIGNATURE_HEADER), raw, deps.secrets(), { toleranceSeconds: deps.toleranceSeconds });
      if (!verdict.ok) {
        log.warn({ reason: verdict.reason }, 'webhook signature rejected');
        deps.metrics.webhooks.inc({ outcome: 'bad_signature' });
        throw signatureInvalid(verdict.reason);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw.toString('utf8'));
      } catch {
        throw paymentsError('PAYMENTS_WEBHOOK_INVALID', 'the webhook body is not JSON');
      }
      try {
        assertSafeInput(json); // what the kit refuses in a body it parses (U+0000, lone surrogates, depth): 400, not a 500 from PostgreSQL
      } catch (err) {
        deps.metrics.webhooks.inc({ outcome: 'invalid' });
        throw err;
      }
      const parsed = PspEvent.safeParse(json);
      if (!parsed.success) deps.metrics.webhooks.inc({ outcome: 'invalid' });
      if (!parsed.success) throw paymentsError('PAYMENTS_WEBHOOK_INVALID', 'the webhook body is not a payment_intent event', { extensions: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) } });
      const outcome = await applyPspEventAsOwner({ pool: deps.pool }, parsed.data).catch((err: unknown) => {
        deps.metrics.webhooks.inc({ outcome: 'error' });
        throw err;
      });
      deps.metrics.webhooks.inc({ outcome });
      const { object } = parsed.data.data;
      if (outcome === 'unknown_intent') log.info({ eventId: parsed.data.id, type: parsed.data.type, intentId: object.id, paymentId: object.metadata.paymentId }, 'psp webhook for an intent no payment owns: acknowledged and ignored');
      else log.info({ eventId: parsed.data.id, type: parsed.data.type, version: parsed.data.data.transition.version, outcome }, 'psp webhook');
      return { status: 200, body: { received: true as const, outcome } };
    },
  });
}
