import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@bulwark/service-kit';
import { loadPaymentsConfig, loadPspConfig } from './config.ts';

/** identity's key set and issuer: the service tokens of /v1/internal/payments are verified with them. */
const IDENTITY = { JWKS_URL: 'http://identity/.well-known/jwks.json', JWT_ISSUER: 'http://identity' };

describe('configuration', () => {
  it('when only the two database URLs and identity are given, then payments starts on 8083 with events on and webhooks refused', () => {
    const c = loadPaymentsConfig({ DATABASE_URL: 'postgres://x', MIGRATION_DATABASE_URL: 'postgres://owner', KAFKA_BROKERS: 'k:9092', ...IDENTITY });
    expect(c).toMatchObject({ PORT: 8083, PSP_URL: 'http://127.0.0.1:8085', EVENTS_ENABLED: true, PSP_WEBHOOK_SECRETS: [], JWT_AUDIENCE: 'bulwark' });
  });

  it('when two secrets are given, then both are active; a third or a short one is refused naming the key', () => {
    expect(loadPaymentsConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', ...IDENTITY, PSP_WEBHOOK_SECRETS: 'a'.repeat(16) + ', ' + 'b'.repeat(16) }).PSP_WEBHOOK_SECRETS).toHaveLength(2);
    expect(() => loadPaymentsConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', ...IDENTITY, PSP_WEBHOOK_SECRETS: ['a', 'b', 'c'].map((x) => x.repeat(16)).join(',') })).toThrow(ConfigError);
    expect(() => loadPaymentsConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', ...IDENTITY, PSP_WEBHOOK_SECRETS: 'short' })).toThrow(/PSP_WEBHOOK_SECRETS/);
  });

  it('when DATABASE_URL is missing or a number is not one, then loading fails naming every bad key', () => {
    expect(() => loadPaymentsConfig({ PSP_TIMEOUT_MS: 'soon' })).toThrow(/DATABASE_URL[\s\S]*PSP_TIMEOUT_MS|PSP_TIMEOUT_MS[\s\S]*DATABASE_URL/);
    expect(() => loadPaymentsConfig({ DATABASE_URL: 'x' })).toThrow(/MIGRATION_DATABASE_URL/);
  });

  it('when identity\'s key set or issuer is missing, then loading fails naming them (the internal routes could verify no token)', () => {
    expect(() => loadPaymentsConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y' })).toThrow(/JWKS_URL[\s\S]*JWT_ISSUER/);
  });

  it('when the simulator is configured, then it defaults to 8085 and splits its lists', () => {
    const c = loadPspConfig({ PSP_WEBHOOK_URLS: 'http://a/x, http://b/y', PSP_WEBHOOK_SECRETS: 'c'.repeat(16) });
    expect(c).toMatchObject({ PORT: 8085, PSP_WEBHOOK_URLS: ['http://a/x', 'http://b/y'], PSP_WEBHOOK_SECRETS: ['c'.repeat(16)] });
  });
});
