import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('when nothing is set, then defaults apply and timings are left to the elector', () => {
    const config = loadConfig({});
    expect(config).toEqual(expect.objectContaining({ leaseNamespace: 'bulwark-system', leaseName: 'platform-operator', port: 8080, watchNamespace: undefined, leaseDurationMs: undefined }));
    expect(config.identity.length).toBeGreaterThan(0);
  });

  it('when several keys are bad, then one error names each of them', () => {
    let caught: unknown;
    try {
      loadConfig({ PORT: 'http', LEASE_DURATION_MS: '-5' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toMatch(/PORT must be an integer.*LEASE_DURATION_MS must be an integer/);
  });
});
