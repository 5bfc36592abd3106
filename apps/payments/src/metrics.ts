/** Business metrics of the payments service (the kit adds HTTP, pool and process metrics). */
import { Counter, type Registry } from 'prom-client';

export interface PaymentsMetrics {
  /** operation: authorize|capture|void|refund; outcome: ok|replayed|declined|rejected|error. */
  operations: Counter<'operation' | 'outcome'>;
  /** outcome: applied|stale|duplicate|unknown_intent|bad_signature|invalid|error. */
  webhooks: Counter<'outcome'>;
  /** Authorizations voided at the PSP because no payment owned them. */
  orphanVoided: Counter;
  /** outcome: ran|skipped (another replica held the lock)|error. */
  orphanPasses: Counter<'outcome'>;
}

export function createPaymentsMetrics(registry: Registry): PaymentsMetrics {
  return {
    operations: new Counter({ name: 'payments_operations_total', help: 'Payment operations by outcome.', labelNames: ['operation', 'outcome'], registers: [registry] }),
    webhooks: new Counter({ name: 'payments_webhooks_total', help: 'PSP webhooks received by outcome.', labelNames: ['outcome'], registers: [registry] }),
    orphanVoided: new Counter({ name: 'payments_orphan_authorizations_voided_total', help: 'PSP authorizations with no payment row, voided by the orphan reconciler.', registers: [registry] }),
    orphanPasses: new Counter({ name: 'payments_orphan_reconcile_passes_total', help: 'Orphan authorization passes by outcome (ran, skipped: another replica held the lock, error).', labelNames: ['outcome'], registers: [registry] }),
  };
}

/** Outcome label of a failed operation from its error code. */
export function failureOutcome(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  if (code === 'PAYMENT_DECLINED') return 'declined';
  if (code === 'PAYMENTS_PSP_TIMEOUT' || code === 'PAYMENTS_PSP_UNAVAILABLE') return 'psp_error';
  return typeof (err as { status?: unknown }).status === 'number' && (err as { status: number }).status < 500 ? 'rejected' : 'error';
}
