/** What other workspaces (tests, benches, the journey) may use from secrets. */
export { createSecretsApp, MIGRATIONS_DIR, type SecretsApp, type SecretsAppOptions } from './app.ts';
export { secretsConfigSchema, loadSecretsConfig, type SecretsConfig } from './config.ts';
export { sealValue, openValue, rewrapKey, parseKeyRing, formatKeyRing, generateKek, type KeyRing, type SealedValue } from './domain/envelope.ts';
export { SECRETS_EVENTS } from './events/secrets-events.ts';
