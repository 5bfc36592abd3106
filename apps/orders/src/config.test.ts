import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@bulwark/service-kit';
import { loadOrdersConfig } from './config.ts';

describe('configuration', () => {
  it('when only the two database URLs are given, then the relay runs on its default slot and acknowledges at most every 50 ms', () => {
    const c = loadOrdersConfig({ DATABASE_URL: 'postgres://x', MIGRATION_DATABASE_URL: 'postgres://owner', KAFKA_BROKERS: 'k:9092' });
    expect(c).toMatchObject({ RELAY_ENABLED: true, RELAY_SLOT: 'orders_relay', RELAY_ACK_INTERVAL_MS: 50 });
  });

  it('when RELAY_ACK_INTERVAL_MS is set, then it is used; zero, a fraction, words or more than 10 s are refused naming the key', () => {
    expect(loadOrdersConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', RELAY_ACK_INTERVAL_MS: '250' }).RELAY_ACK_INTERVAL_MS).toBe(250);
    for (const bad of ['0', '2.5', 'soon', '10001']) {
      expect(() => loadOrdersConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', RELAY_ACK_INTERVAL_MS: bad })).toThrow(ConfigError);
      expect(() => loadOrdersConfig({ DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', RELAY_ACK_INTERVAL_MS: bad })).toThrow(/RELAY_ACK_INTERVAL_MS/);
    }
  });

  it('when MIGRATION_DATABASE_URL (the owner) is missing, then start-up fails naming it', () => {
    expect(() => loadOrdersConfig({ DATABASE_URL: 'postgres://x' })).toThrow(/MIGRATION_DATABASE_URL/);
  });

  it('when the saga runner would run without identity, then start-up fails naming IDENTITY_URL and IDENTITY_CLIENT_SECRET; with them, or without the runner, it starts', () => {
    const saga = { DATABASE_URL: 'x', MIGRATION_DATABASE_URL: 'y', INVENTORY_URL: 'http://inventory', PAYMENTS_URL: 'http://payments' };
    expect(() => loadOrdersConfig(saga)).toThrow(/IDENTITY_CLIENT_SECRET: required[\s\S]*IDENTITY_URL: required/);
    expect(() => loadOrdersConfig({ ...saga, IDENTITY_URL: 'http://identity', IDENTITY_CLIENT_SECRET: 'short' })).toThrow(/IDENTITY_CLIENT_SECRET/);
    expect(loadOrdersConfig({ ...saga, IDENTITY_URL: 'http://identity', IDENTITY_CLIENT_SECRET: 's'.repeat(32) })).toMatchObject({ IDENTITY_CLIENT_ID: 'orders' });
    expect(loadOrdersConfig({ ...saga, SAGA_RUNNER_ENABLED: 'false' }).IDENTITY_URL).toBeUndefined();
  });
});
