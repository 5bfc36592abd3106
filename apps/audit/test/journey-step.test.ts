/**
 * The journey's audit step (scripts/journey/audit.ts) against real
 * services without the whole platform: identity (its outbox relay on a
 * topic of this test), audit consuming it, and the HTTP gateway with the
 * audit route of apps/gateway/routes.json verifying identity's tokens. The
 * customer's login is found by an admin through the gateway and its
 * inclusion proof verifies against a signed tree head; a customer's token
 * is refused by audit itself.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kafkaBrokers, suffix } from '@bulwark/test-support';
import { auditTheLogin } from '../../../scripts/journey/audit.ts';
import type { Step } from '../../../scripts/journey.ts';
import { redisUrl, startGateway, type TestGateway } from '../../gateway/test/support.ts';
import { login, setupIdentity, verifiedAccount, type TestIdentity } from '../../identity/test/support.ts';
import { call, setupAudit, type TestAudit } from './support.ts';

const id = suffix();
const topic = `identity.events.${id}`;
const ROUTES = fileURLToPath(new URL('../../gateway/routes.json', import.meta.url));
let identity: TestIdentity;
let identityUrl: string;
let audit: TestAudit;
let gateway: TestGateway;

beforeAll(async () => {
  const brokers = kafkaBrokers().join(',');
  identity = await setupIdentity();
  identityUrl = (await identity.start({ KAFKA_BROKERS: brokers, SECURITY_EVENTS_TOPIC: topic, OUTBOX_POLL_MS: '50' })).url;
  audit = await setupAudit({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: brokers, AUDIT_TOPICS: topic, AUDIT_GROUP: `audit-journey-${id}`, AUDIT_FAST_CONSUMER: 'true', AUDIT_TREE_HEAD_INTERVAL_MS: '300' });
  await audit.app.consumerStarted;
  const platform = JSON.parse(readFileSync(ROUTES, 'utf8')) as { routes: { id: string }[]; upstreams: Record<string, unknown>; rateLimitPolicies: unknown[] };
  const routes = { upstreams: { audit: { ...(platform.upstreams.audit as object), url: audit.url } }, rateLimitPolicies: platform.rateLimitPolicies, routes: platform.routes.filter((r) => r.id === 'audit-v1') };
  gateway = await startGateway(routes, { JWKS_URL: `${identityUrl}/.well-known/jwks.json`, JWT_ISSUER: 'http://127.0.0.1:8081', JWT_AUDIENCE: 'bulwark', REDIS_URL: redisUrl(), LOG_LEVEL: 'warn' });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await audit?.cleanup();
  await identity?.cleanup();
});

describe("the journey's audit step", () => {
  it("when a customer logged in, then the admin finds the login through the gateway with an inclusion proof that verifies", async () => {
    const customer = await verifiedAccount(identity, identityUrl);
    const admin = await verifiedAccount(identity, identityUrl, 'boss@acme.test');
    const customerToken = (await login(identityUrl, customer.email, customer.password)).body.accessToken as string;
    const adminToken = (await login(identityUrl, admin.email, admin.password)).body.accessToken as string;
    const steps: Step[] = [];
    await auditTheLogin({ gateway: gateway.url, mail: '', inventory: '' }, { customer: customerToken, admin: adminToken }, (s) => steps.push(s));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ["the admin finds the customer's login in the audit log", 200],
      ['its inclusion proof in a signed tree head', 200],
      ["the log's public key", 200],
      ['the proof verifies against the signed tree head', 200],
    ]);
    const refused = await call(gateway.url, 'GET', '/v1/audit/entries', undefined, { authorization: `Bearer ${customerToken}` });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUDIT_READER_ONLY');
  });
});
