/**
 * The PSP simulator as a service-kit app: payment intents (authorize,
 * capture, void, refund incl. partial), idempotent by key, with failure knobs
 * per request (`psp-simulate` header) or global (`PUT /v1/_simulator`), and
 * signed webhooks for every transition. State is in memory: a restart is a
 * new PSP, which is all the tests and the local platform need.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { DestinationStream } from 'pino';
import { z } from 'zod';
import { createService, type Service } from '@bulwark/service-kit';
import type { PspConfig } from '../config.ts';
import { pspError } from './errors.ts';
import { applyCommand, authorize, INTENT_STATUSES, MAX_INTENT_AMOUNT, type Command, type PaymentIntent } from './intent.ts';
import { decide, parseSimulateHeader, seededRandom, SIMULATE_HEADER, SimulatorSettings, type Decision } from './knobs.ts';
import { PspLedger, type Outcome } from './ledger.ts';
import { createDispatcher, type Dispatcher } from './webhooks.ts';

const IntentSchema = z.object({
  id: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.enum(INTENT_STATUSES),
  amountCaptured: z.number().int(),
  amountRefunded: z.number().int(),
  version: z.number().int(),
  declineCode: z.string().nullable(),
  metadata: z.record(z.string(), z.string()),
  createdAt: z.string(),
  lastTransition: z.object({ kind: z.enum(['authorized', 'declined', 'captured', 'voided', 'refunded']), amount: z.number().int(), version: z.number().int() }),
});
const CreateIntentBody = z.object({
  amount: z.number().int().positive().max(MAX_INTENT_AMOUNT),
  currency: z.string().regex(/^[A-Z]{3}$/),
  metadata: z.record(z.string().max(40), z.string().max(500)).optional(),
});
const AmountBody = z.object({ amount: z.number().int().positive().max(MAX_INTENT_AMOUNT).optional() }).default({});
const IdParams = z.object({ id: z.string().min(1).max(80) });
const ListQuery = z.object({
  orderId: z.string().max(200).optional(),
  paymentId: z.string().max(200).optional(),
  status: z.enum(INTENT_STATUSES).optional(),
  createdBefore: z.iso.datetime().optional().describe('Only intents created strictly before this instant.'),
  createdAfter: z.iso.datetime().optional().describe('Only intents created at or after this instant.'),
  startingAfter: z.string().max(80).optional().describe('Page cursor: the id of the last intent of the previous page.'),
  limit: z.coerce.number().int().min(1).max(1_000).default(1_000),
});
const SettingsBody = SimulatorSettings.partial().extend({
  webhookSecrets: z.array(z.string().min(16)).min(1).max(2).optional(),
  seed: z.number().int().min(0).max(4_294_967_295).optional().describe('Restart the knobs\' random source from this seed (repeatable rate measurements).'),
});
const SettingsResponse = z.object({
  settings: SimulatorSettings,
  activeSecrets: z.number().int(),
  counters: z.record(z.string(), z.number()),
  webhooks: z.record(z.string(), z.number()),
});

export interface PspApp {
  readonly service: Service<PspConfig>;
  readonly ledger: PspLedger;
  readonly dispatcher: Dispatcher;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

function fingerprintOf(operation: string, body: unknown): string {
  return createHash('sha256').update(operation).update('\0').update(JSON.stringify(body ?? null)).digest('hex');
}

function keyOf(req: Request): string {
  const key = req.get('idempotency-key');
  if (!key || key.length > 255) throw pspError('PSP_SIM_KEY_REQUIRED', 'send an Idempotency-Key header (1–255 characters)');
  return key;
}

export function createPspApp(options: { config: PspConfig; logDestination?: DestinationStream }): PspApp {
  const { config } = options;
  if (config.PSP_WEBHOOK_URLS.length > 0 && config.PSP_WEBHOOK_SECRETS.length === 0) throw new Error('PSP_WEBHOOK_SECRETS is required when PSP_WEBHOOK_URLS is set');
  let settings: SimulatorSettings = SimulatorSettings.parse({});
  let secrets: readonly string[] = config.PSP_WEBHOOK_SECRETS;
  let random: () => number = Math.random;
  const ledger = new PspLedger();
  let dispatcher!: Dispatcher;

  /**
   * Latency before the work, the work once per key, and for a simulated
   * timeout the answer held past the caller's patience — a decline or a
   * refusal as much as a success, so the timeout rate is what callers see.
   */
  async function perform(req: Request, operation: string, body: unknown, work: (d: Decision) => Outcome) {
    const key = keyOf(req);
    const decision = decide(settings, parseSimulateHeader(req.get(SIMULATE_HEADER)), random);
    if (decision.latencyMs > 0) await sleep(decision.latencyMs);
    let ran = false;
    try {
      const { outcome, replayed } = await ledger.once(key, fingerprintOf(operation, body), async () => {
        ran = true;
        return work(decision);
      });
      return { ...outcome, headers: replayed ? { 'idempotent-replayed': 'true' } : {} };
    } finally {
      if (ran && decision.timeout) {
        ledger.counters.timeouts++;
        await sleep(config.PSP_TIMEOUT_HOLD_MS);
      }
    }
  }

  function command(id: string, cmd: Command, decision: Decision): Outcome {
    const result = applyCommand(ledger.get(id), cmd);
    if (!result.ok) {
      throw result.reason === 'invalid_state'
        ? pspError('PSP_SIM_INVALID_STATE', result.message, { intentId: id })
        : pspError('PSP_SIM_INVALID_AMOUNT', result.message, { intentId: id });
    }
    ledger.intents.set(id, result.intent);
    if (cmd.type === 'capture') ledger.counters.captures++;
    else if (cmd.type === 'void') ledger.counters.voids++;
    else ledger.counters.refunds++;
    dispatcher.emit(result.intent, result.transition, { duplicate: decision.duplicateWebhook, outOfOrder: decision.outOfOrder });
    return { status: 200, body: result.intent };
  }

  const service = createService({
    name: 'psp-simulator',
    version: '0.1.0',
    config,
    logDestination: options.logDestination,
    routes(r, kit) {
      dispatcher = createDispatcher({
        urls: config.PSP_WEBHOOK_URLS,
        secrets: () => secrets,
        maxAttempts: config.PSP_WEBHOOK_MAX_ATTEMPTS,
        baseBackoffMs: config.PSP_WEBHOOK_BACKOFF_MS,
        outOfOrderHoldMs: config.PSP_OUT_OF_ORDER_HOLD_MS,
        log: kit.log,
      });
      kit.addDependency({ name: 'webhooks', check: async () => undefined, close: () => dispatcher.drain(3_000) });

      r.post('/v1/payment_intents', {
        summary: 'Authorize: create a payment intent (Idempotency-Key required)',
        body: CreateIntentBody,
        responses: { 201: IntentSchema },
        handler: async ({ body, req }) =>
          perform(req, 'authorize', body, (decision) => {
            const { intent, transition } = authorize({ id: `pi_${randomUUID()}`, ...body, createdAt: new Date().toISOString() }, decision.decline ? 'card_declined' : undefined);
            ledger.intents.set(intent.id, intent);
            dispatcher.emit(intent, transition, { duplicate: decision.duplicateWebhook, outOfOrder: decision.outOfOrder });
            if (decision.decline) {
              ledger.counters.declines++;
              throw pspError('PSP_SIM_CARD_DECLINED', 'the card was declined', { declineCode: 'card_declined', intent });
            }
            ledger.counters.authorizations++;
            return { status: 201, body: intent };
          }) as Promise<{ status: 201; body: PaymentIntent }>,
      });
      for (const action of ['capture', 'void', 'refund'] as const) {
        r.post(`/v1/payment_intents/:id/${action}`, {
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a payment intent (Idempotency-Key required)`,
          params: IdParams,
          body: AmountBody,
          responses: { 200: IntentSchema },
          handler: async ({ params, body, req }) =>
            perform(req, `${action}:${params.id}`, body, (decision) =>
              command(params.id, action === 'void' ? { type: 'void' } : { type: action, amount: body.amount }, decision),
            ) as Promise<{ status: 200; body: PaymentIntent }>,
        });
      }
      r.get('/v1/payment_intents/:id', {
        summary: 'Read a payment intent',
        params: IdParams,
        responses: { 200: IntentSchema },
        handler: ({ params }) => ({ status: 200, body: ledger.get(params.id) }),
      });
      r.get('/v1/payment_intents', {
        summary: 'List payment intents, oldest first, by metadata, status and creation time (the orphan reconciler lists authorized intents created before a cutoff)',
        query: ListQuery,
        responses: { 200: z.object({ data: z.array(IntentSchema), hasMore: z.boolean() }) },
        handler: ({ query }) => {
          const before = query.createdBefore === undefined ? undefined : Date.parse(query.createdBefore);
          const after = query.createdAfter === undefined ? undefined : Date.parse(query.createdAfter);
          // Map order is creation order (oldest first); the cursor is a position in it, so an intent leaving the
          // status filter between two pages (a void) moves no other intent across the page boundary.
          const all = [...ledger.intents.values()];
          const from = query.startingAfter === undefined ? 0 : all.findIndex((i) => i.id === query.startingAfter) + 1;
          const matching = all.slice(from).filter((i) => {
            const created = Date.parse(i.createdAt);
            return (
              (query.orderId === undefined || i.metadata.orderId === query.orderId) &&
              (query.paymentId === undefined || i.metadata.paymentId === query.paymentId) &&
              (query.status === undefined || i.status === query.status) &&
              (before === undefined || created < before) &&
              (after === undefined || created >= after)
            );
          });
          return { status: 200, body: { data: matching.slice(0, query.limit), hasMore: matching.length > query.limit } };
        },
      });
      const describe = () => ({ settings, activeSecrets: secrets.length, counters: { ...ledger.counters }, webhooks: { ...dispatcher.stats } });
      r.get('/v1/_simulator', { summary: 'Knobs, counters and webhook delivery stats', responses: { 200: SettingsResponse }, handler: () => ({ status: 200, body: describe() }) });
      r.put('/v1/_simulator', {
        summary: 'Set global failure knobs and/or rotate webhook secrets (one or two active)',
        body: SettingsBody,
        responses: { 200: SettingsResponse },
        handler: ({ body }) => {
          const { webhookSecrets, seed, ...knobs } = body;
          settings = SimulatorSettings.parse({ ...settings, ...knobs });
          if (webhookSecrets) secrets = webhookSecrets;
          if (seed !== undefined) random = seededRandom(seed);
          return { status: 200, body: describe() };
        },
      });
    },
  });

  return {
    service,
    ledger,
    get dispatcher() {
      return dispatcher;
    },
  };
}
