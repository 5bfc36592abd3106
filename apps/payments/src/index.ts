/** What other workspaces (tests, the saga, benches) may use from payments. */
export { createPaymentsApp, MIGRATIONS_DIR, type PaymentsApp, type PaymentsAppOptions } from './app.ts';
export { loadPaymentsConfig, paymentsConfigSchema, type PaymentsConfig } from './config.ts';
export { reconcile, type Reconciliation } from './store/payments-store.ts';
export { createPspApp, type PspApp } from './psp/app.ts';
export { loadPspConfig, pspConfigSchema, type PspConfig } from './config.ts';
