/** Business metrics of the inventory service (the kit adds HTTP, pool and process metrics). */
import { Counter, type Registry } from 'prom-client';

export interface InventoryMetrics {
  /** transition: reserved|confirmed|released|rejected (handler outcomes; replays are not counted). */
  reservations: Counter<'transition'>;
  /** Reservations released by the expiry sweeper. */
  expired: Counter<'reason'>;
  sweepFailures: Counter;
}

export function createInventoryMetrics(registry: Registry): InventoryMetrics {
  return {
    reservations: new Counter({ name: 'inventory_reservations_total', help: 'Reservation transitions made by requests.', labelNames: ['transition'], registers: [registry] }),
    expired: new Counter({ name: 'inventory_reservations_expired_total', help: 'Held reservations released by the expiry sweeper.', labelNames: ['reason'], registers: [registry] }),
    sweepFailures: new Counter({ name: 'inventory_sweep_failures_total', help: 'Expiry sweeper passes that failed.', registers: [registry] }),
  };
}
