/**
 * The journey's secrets step (scripts/journey/secrets.ts) against real
 * services without the whole platform: identity issuing the tokens, the
 * HTTP gateway with the secrets and audit routes of apps/gateway/routes.json,
 * secrets publishing its audit events to a topic of this test, and audit
 * consuming it. The admin stores and reads a secret through the gateway, a
 * customer is refused at the gateway, and the read is in the audit log.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kafkaBrokers, suffix } from '@bulwark/test-support';
import { storeAndReadASecret } from '../../../scripts/journey/secrets.ts';
import type { Step } from '../../../scripts/journey.ts';
import { setupAudit, type TestAudit } from '../../audit/test/support.ts';
import { redisUrl, startGateway, type TestGateway } from '../../gateway/test/support.ts';
import { login, setupIdentity, verifiedAccount, type TestIdentity } from '../../identity/test/support.ts';
import { setupSecrets, type TestSecrets } from './support.ts';

const id = suffix();
const topic = `secrets.events.${id}`;
const ROUTES = fileURLToPath(new URL('../../gateway/routes.json', import.meta.url));
let identity: TestIdentity;
let identityUrl: string;
let secrets: TestSecrets;
let audit: TestAudit;
let gateway: TestGateway;

beforeAll(async () => {
  const brokers = kafkaBrokers().join(',');
  identity = await setupIdentity();
  identityUrl = (await identity.start()).url;
  secrets = await setupSecrets();
  const { url: secretsUrl } = await secrets.start({ KAFKA_BROKERS: brokers, SECRETS_TOPIC: topic, OUTBOX_POLL_MS: '50' });
  audit = await setupAudit({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: brokers, AUDIT_TOPICS: topic, AUDIT_GROUP: `audit-secrets-journey-${id}`, AUDIT_FAST_CONSUMER: 'true' });
  await audit.app.consumerStarted;
  const platform = JSON.parse(readFileSync(ROUTES, 'utf8')) as { routes: { id: string }[]; upstreams: Record<string, object>; rateLimitPolicies: unknown[] };
  const routes = {
    upstreams: { secrets: { ...platform.upstreams.secrets, url: secretsUrl }, audit: { ...platform.upstreams.audit, url: audit.url } },
    rateLimitPolicies: platform.rateLimitPolicies,
    routes: platform.routes.filter((r) => ['secrets-admin-v1', 'audit-v1'].includes(r.id)),
  };
  gateway = await startGateway(routes, { JWKS_URL: `${identityUrl}/.well-known/jwks.json`, JWT_ISSUER: 'http://127.0.0.1:8081', JWT_AUDIENCE: 'bulwark', REDIS_URL: redisUrl(), LOG_LEVEL: 'warn' });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await audit?.cleanup();
  await secrets?.cleanup();
  await identity?.cleanup();
});

describe("the journey's secrets step", () => {
  it('when the admin stores and reads a secret through the gateway, then a customer is refused and the read is in the audit log', async () => {
    const customer = await verifiedAccount(identity, identityUrl);
    const admin = await verifiedAccount(identity, identityUrl, 'boss@acme.test');
    const customerToken = (await login(identityUrl, customer.email, customer.password)).body.accessToken as string;
    const adminToken = (await login(identityUrl, admin.email, admin.password)).body.accessToken as string;
    const steps: Step[] = [];
    await storeAndReadASecret({ gateway: gateway.url, mail: '', inventory: '' }, { customer: customerToken, admin: adminToken }, (s) => steps.push(s));
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['the admin stores a secret', 201],
      ['the admin reads it back', 200],
      ['a customer may not read secrets', 403],
      ["the admin's read is in the audit log", 200],
    ]);
  }, 90_000);
});
