import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { baseConfigSchema, ConfigError, formatConfigIssues, loadConfig } from './config.ts';

const schema = baseConfigSchema.extend({ DATABASE_URL: z.url(), POOL_SIZE: z.coerce.number().int().positive() });

describe('loadConfig', () => {
  it('when the environment is valid, then defaults fill the unset keys and values are coerced', () => {
    const config = loadConfig(schema, { DATABASE_URL: 'postgres://db/x', POOL_SIZE: '4', PORT: '8080' });
    expect(config).toMatchObject({ PORT: 8080, HOST: '0.0.0.0', LOG_LEVEL: 'info', POOL_SIZE: 4, SHUTDOWN_TIMEOUT_MS: 10_000, READINESS_TIMEOUT_MS: 2_000 });
  });

  it('when several keys are bad or missing, then one error names every one of them', () => {
    let error: unknown;
    try {
      loadConfig(schema, { PORT: 'eighty', LOG_LEVEL: 'loud', POOL_SIZE: '-1' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => i.key).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'POOL_SIZE', 'PORT']);
    expect(issues.find((i) => i.key === 'DATABASE_URL')?.message).toBe('required but not set');
    const message = (error as ConfigError).message;
    for (const key of ['DATABASE_URL', 'LOG_LEVEL', 'POOL_SIZE', 'PORT']) expect(message).toContain(`- ${key}:`);
  });

  it('when a value is an empty string, then it counts as unset', () => {
    expect(() => loadConfig(schema, { DATABASE_URL: '', POOL_SIZE: '1' })).toThrow(/DATABASE_URL: required but not set/);
    expect(loadConfig(schema, { DATABASE_URL: 'postgres://db/x', POOL_SIZE: '1', PORT: '' }).PORT).toBe(3000);
  });

  it('when a secret value is invalid, then the message does not print the value', () => {
    const secretSchema = z.object({ API_KEY: z.string().length(32) });
    expect(() => loadConfig(secretSchema, { API_KEY: 'hunter2' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }) as unknown as Error);
  });
});

describe('formatConfigIssues', () => {
  it('when issues are formatted, then keys are sorted one per line with a count', () => {
    expect(formatConfigIssues([{ key: 'B', message: 'bad' }, { key: 'A', message: 'required but not set' }])).toBe(
      'invalid configuration (2 keys):\n  - A: required but not set\n  - B: bad',
    );
  });
});
