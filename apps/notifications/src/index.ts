/** What other workspaces (tests, benches) may use from notifications. */
export { NOTIFICATIONS_ERROR_CODES, notificationsError, type NotificationsErrorCode } from './errors.ts';
export { forbiddenReason, parseEndpointUrl, resolveAllowed, checkEndpointUrl, type SsrfPolicy } from './ssrf.ts';
export { render, escapeHtml, variablesOf, TemplateRegistry, type Template, type Vars } from './templates.ts';
export { deliver, DEFAULT_MAX_PAYLOAD_BYTES, type DeliveryRequest, type DeliveryResult } from './delivery.ts';
export { recordOutcome, mayDeliver, HEALTHY, DEFAULT_HEALTH_POLICY, type HealthPolicy, type EndpointHealth, type HealthEvent } from './domain/endpoint-breaker.ts';
export { createNotificationsApp, MIGRATIONS_DIR, type NotificationsApp, type NotificationsAppOptions } from './app.ts';
export { loadNotificationsConfig, notificationsConfigSchema, type NotificationsConfig } from './config.ts';
