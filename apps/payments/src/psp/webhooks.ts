/**
 * Signed webhook delivery to the configured subscribers. Each event is
 * signed per attempt with every active secret (so a receiver that has only
 * the new or only the old secret accepts it during a rotation) and retried
 * with exponential backoff until a 2xx or the attempt cap. The failure knobs
 * live here too: a duplicate is the same event delivered twice, an
 * out-of-order event is held back until the intent's next event has been
 * delivered (or a hold deadline passes).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { backoffCeiling } from '@bulwark/service-kit/backoff';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import type { PaymentIntent, Transition } from './intent.ts';

export interface WebhookEvent {
  id: string;
  type: `payment_intent.${Transition['kind']}`;
  created: number;
  data: { object: PaymentIntent; transition: Transition };
}

export interface DispatcherOptions {
  urls: readonly string[];
  /** Active secrets, read per attempt so a rotation applies at once. */
  secrets: () => readonly string[];
  maxAttempts: number;
  baseBackoffMs: number;
  outOfOrderHoldMs: number;
  log: Logger;
}

export interface DispatchStats {
  delivered: number;
  failedAttempts: number;
  gaveUp: number;
  inFlight: number;
}

export interface Dispatcher {
  emit(intent: PaymentIntent, transition: Transition, knobs: { duplicate: boolean; outOfOrder: boolean }): WebhookEvent;
  readonly stats: DispatchStats;
  /** Waits for queued deliveries (held ones are released first) up to `deadlineMs`. */
  drain(deadlineMs: number): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const stats: DispatchStats = { delivered: 0, failedAttempts: 0, gaveUp: 0, inFlight: 0 };
  const held = new Map<string, { events: WebhookEvent[]; timer: NodeJS.Timeout }>();
  const pending = new Set<Promise<void>>();
  let closing = false;

  async function deliverOnce(url: string, event: WebhookEvent): Promise<void> {
    const body = JSON.stringify(event);
    for (let attempt = 0; attempt < options.maxAttempts; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(body, options.secrets()) },
          body,
          signal: AbortSignal.timeout(5_000),
        });
        await res.arrayBuffer();
        if (res.ok) {
          stats.delivered++;
          return;
        }
        stats.failedAttempts++;
        options.log.warn({ eventId: event.id, url, status: res.status, attempt }, 'webhook rejected');
      } catch (err) {
        stats.failedAttempts++;
        options.log.warn({ eventId: event.id, url, attempt, err: (err as Error).message }, 'webhook delivery failed');
      }
      if (closing) break;
      await sleep(backoffCeiling(attempt + 1, { baseMs: options.baseBackoffMs, capMs: 5_000 }));
    }
    stats.gaveUp++;
    options.log.error({ eventId: event.id, url }, 'webhook delivery gave up');
  }

  /** Delivers `copies` of the event to every subscriber; resolves when all are delivered or given up. */
  function send(event: WebhookEvent, copies: number): Promise<unknown> {
    const deliveries: Promise<void>[] = [];
    for (const url of options.urls) {
      for (let i = 0; i < copies; i++) {
        stats.inFlight++;
        const p = deliverOnce(url, event).finally(() => {
          stats.inFlight--;
          pending.delete(p);
        });
        pending.add(p);
        deliveries.push(p);
      }
    }
    return Promise.allSettled(deliveries);
  }

  function release(intentId: string): void {
    const h = held.get(intentId);
    if (!h) return;
    held.delete(intentId);
    clearTimeout(h.timer);
    stats.inFlight -= h.events.length; // send() counts them again until they are delivered
    for (const e of h.events) send(e, 1);
  }

  return {
    stats,
    emit(intent, transition, knobs) {
      const event: WebhookEvent = {
        id: `evt_${randomUUID()}`,
        type: `payment_intent.${transition.kind}`,
        created: Math.floor(Date.now() / 1000),
        data: { object: intent, transition },
      };
      if (knobs.outOfOrder) {
        // Held events count as in flight from now on, so "nothing in flight" means "everything delivered".
        const h = held.get(intent.id);
        if (h) h.events.push(event);
        else held.set(intent.id, { events: [event], timer: setTimeout(() => release(intent.id), options.outOfOrderHoldMs) });
        stats.inFlight++;
        if (knobs.duplicate) {
          held.get(intent.id)!.events.push(event);
          stats.inFlight++;
        }
        return event;
      }
      const sent = send(event, knobs.duplicate ? 2 : 1);
      // A held (older) event goes out once this newer one has arrived: out of order for sure.
      if (held.has(intent.id)) void sent.finally(() => release(intent.id));
      return event;
    },
    async drain(deadlineMs) {
      closing = true;
      for (const id of [...held.keys()]) release(id);
      await Promise.race([Promise.allSettled([...pending]), sleep(deadlineMs)]);
    },
  };
}
