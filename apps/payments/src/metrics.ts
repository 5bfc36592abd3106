/** Business metrics of the payments service (the kit adds HTTP, pool and process metrics). */
import { Counter, type Registry } from 'prom-client';

export interface PaymentsMetrics {
  /** operation: authorize|capture|void|refund; outcome: ok|replayed|declined|rejected|error. */
  operations: Counter<'operation' | 'outcome'>;
  /** outcome: applied|stale|duplicate|unknown_payment|bad_signature|invalid. */
  webhooks: Counter<'outcome'>;
}

export function createPaymentsMetrics(registry: Registry): PaymentsMetrics {
  return {
    operations: new Counter({ name: 'payments_operations_total', help: 'Payment operations by outcome.', labelNames: ['operation', 'outcome'], registers: [registry] }),
    webhooks: new Counter({ name: 'payments_webhooks_total', help: 'PSP webhooks received by outcome.', labelNames: ['outcome'], registers: [registry] }),
  };
}

/** Outcome label of a failed operation from its error code. */
export function failureOutcome(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'PAYMENT_DECLINED') return 'declined';
  if (code === 'PAYMENTS_PSP_TIMEOUT' || code === 'PAYMENTS_PSP_UNAVAILABLE') return 'psp_error';
  return typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500 ? 'rejected' : 'error';
}
