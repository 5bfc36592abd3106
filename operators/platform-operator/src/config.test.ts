import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('when nothing is set, then defaults apply and timings are left to the elector', () => {
    const config = loadConfig({});
    expect(config).toEqual(expect.objectContaining({ leaseNamespace: 'bulwark-system', leaseName: 'platform-operator', port: 8080, watchNamespace: undefined, leaseDurationMs: undefined }));
    expect(config.identity.length).toBeGreaterThan(0);
  });

  it('when two processes load the same environment, then each gets its own identity: the name plus a random suffix', () => {
    const env = { POD_NAME: 'platform-operator-7d9f-abcde' };
    const [a, b] = [loadConfig(env), loadConfig(env)];
    expect(a.name).toBe('platform-operator-7d9f-abcde');
    expect(a.identity).toMatch(/^platform-operator-7d9f-abcde-[0-9a-f]{8}$/);
    expect(b.identity).not.toBe(a.identity);
    const [c, d] = [loadConfig({}), loadConfig({})];
    expect(c.name).toBe(d.name);
    expect(c.identity).not.toBe(d.identity);
  });

  it('when several keys are bad, then one error names each of them', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'http', LEASE_DURATION_MS: '-5' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).issues.map((i) => i.key)).toEqual(['PORT', 'LEASE_DURATION_MS']);
    expect((caught as ConfigError).message).toMatch(/LEASE_DURATION_MS:[^\n]*\n[^\n]*PORT:/);
  });

  it('when LOG_LEVEL and SHUTDOWN_TIMEOUT_MS are set, then they are read as the kit reads them for services', () => {
    expect(loadConfig({})).toEqual(expect.objectContaining({ logLevel: 'info', shutdownTimeoutMs: 10_000 }));
    expect(loadConfig({ LOG_LEVEL: 'warn', SHUTDOWN_TIMEOUT_MS: '2500' })).toEqual(expect.objectContaining({ logLevel: 'warn', shutdownTimeoutMs: 2500 }));
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHUTDOWN_TIMEOUT_MS: '0' })).toThrow(ConfigError);
  });
});
