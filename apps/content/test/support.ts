/**
 * Test helpers: the real content service on port 0 against the PostgreSQL
 * (and, when asked, Kafka) from Jest global setup, in its own schema (random
 * suffix), removed at cleanup. It connects as the runtime role (row-level
 * security applies); `call` carries TEST_TENANT as the gateway would.
 */
import { loadConfig } from '@bulwark/service-kit';
import { devNull, setupServiceBed, tenantCall, TEST_TENANT, type ServiceBed } from '@bulwark/test-support';
import { createContentApp, type ContentApp } from '../src/app.ts';
import { contentConfigSchema } from '../src/config.ts';

export const AUTHOR = { 'x-auth-sub': 'author-1', 'x-auth-roles': 'orders' };
export const OTHER_AUTHOR = { 'x-auth-sub': 'author-2', 'x-auth-roles': 'orders' };
export const MODERATOR = { 'x-auth-sub': 'mod-1', 'x-auth-roles': 'moderator' };

export const call = tenantCall(TEST_TENANT);

export type TestContent = ServiceBed<ContentApp>;

export function setupContent(env: Record<string, string> = {}): Promise<TestContent> {
  return setupServiceBed({
    name: 'content',
    schemaEnv: 'CONTENT_SCHEMA',
    poolMax: 2,
    create: (e) => createContentApp({ config: loadConfig(contentConfigSchema, e), logDestination: devNull }),
    env: () => ({ SCHEDULER_INTERVAL_MS: '3600000', ...env }),
  });
}
