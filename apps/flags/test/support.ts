/**
 * Test helpers: the real flags service on port 0 against the PostgreSQL from
 * Jest global setup, each suite in its own schema (random suffix), removed at
 * cleanup. The service connects as the runtime role (row-level security
 * applies) and migrates as the owner; `call` carries TEST_TENANT as the
 * gateway would, `ADMIN` the verified admin principal it forwards.
 */
import { readSse } from '@bulwark/openfeature-provider';
import { loadConfig } from '@bulwark/service-kit';
import { devNull, setupServiceBed, tenantCall, TEST_TENANT, type ServiceBed } from '@bulwark/test-support';
import { createFlagsApp, type FlagsApp } from '../src/app.ts';
import { flagsConfigSchema } from '../src/config.ts';

export type { Reply } from '@bulwark/test-support';

/** The headers the gateway sets for a verified admin. */
export const ADMIN = { 'x-auth-sub': 'admin-1', 'x-auth-roles': 'admin' };
/** A verified customer: may read, not write. */
export const CUSTOMER = { 'x-auth-sub': 'customer-1', 'x-auth-roles': 'orders' };

export const call = tenantCall(TEST_TENANT);

export type TestFlags = ServiceBed<FlagsApp>;

export function setupFlags(): Promise<TestFlags> {
  return setupServiceBed({
    name: 'flags',
    schemaEnv: 'FLAGS_SCHEMA',
    create: (env) => createFlagsApp({ config: loadConfig(flagsConfigSchema, env), logDestination: devNull }),
    env: () => ({ CHANGE_POLL_MS: '200', SCHEDULER_INTERVAL_MS: '200' }),
  });
}

/** A boolean flag with production and staging; `over` replaces fields. */
export function booleanFlag(over: Record<string, unknown> = {}): Record<string, unknown> {
  const env = { enabled: true, offVariant: 'off', rules: [], fallthrough: { variant: 'on' } };
  return { type: 'boolean', variants: { on: true, off: false }, environments: { production: env, staging: { ...env, enabled: false } }, ...over };
}

/** Reads server-sent events from `url` until `until` returns true for the events so far; aborts the stream after. */
export async function readEvents(url: string, headers: Record<string, string>, until: (events: { id?: string; event: string; data: string }[]) => boolean): Promise<{ id?: string; event: string; data: string }[]> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const events: { id?: string; event: string; data: string }[] = [];
  try {
    for await (const e of readSse(res.body!)) {
      events.push(e.id === undefined ? { event: e.event, data: e.data } : { id: e.id, event: e.event, data: e.data });
      if (until(events)) break;
    }
  } finally {
    controller.abort();
  }
  return events;
}
