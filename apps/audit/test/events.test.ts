/**
 * Security events through the real Kafka: the real identity's login (its
 * outbox relay publishing to a topic of this test) and payments' refund
 * events (published twice with one id, as a relay does after a crash) are
 * appended to the log once each, and the log then verifies.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { kafkaBrokers, pgUrl, suffix } from '@bulwark/test-support';
import { PAYMENT_EVENTS, paymentEventSchemas } from '../../payments/src/domain/payment-events.ts';
import { login, setupIdentity, verifiedAccount, type TestIdentity } from '../../identity/test/support.ts';
import { verifyDatabase } from '../src/cli/audit.ts';
import { publicKeyPath } from '../src/domain/signing-key.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { setupAudit, silent, waitFor, type TestAudit } from './support.ts';

const id = suffix();
const identityTopic = `identity.events.${id}`;
const paymentsTopic = `payments.events.${id}`;
let identity: TestIdentity;
let identityUrl: string;
let audit: TestAudit;
let producer: EventProducer;

beforeAll(async () => {
  const brokers = kafkaBrokers().join(',');
  identity = await setupIdentity();
  identityUrl = (await identity.start({ KAFKA_BROKERS: brokers, SECURITY_EVENTS_TOPIC: identityTopic, OUTBOX_POLL_MS: '50' })).url;
  producer = createProducer({ kafka: createKafka({ brokers: kafkaBrokers(), clientId: `audit-test-${id}` }), schemas: paymentEventSchemas, source: '/bulwark/payments', registry: new Registry(), log: silent });
  audit = await setupAudit({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: brokers, AUDIT_TOPICS: `${identityTopic},${paymentsTopic}`, AUDIT_GROUP: `audit-${id}`, AUDIT_FAST_CONSUMER: 'true' });
  await audit.app.consumerStarted;
}, 120_000);

afterAll(async () => {
  await producer?.close();
  await audit?.cleanup();
  await identity?.cleanup();
});

const entries = async (type: string) =>
  (await audit.superuser.query<{ seq: string; actor: string | null; tenant_id: string; event_id: string }>('SELECT seq, actor, tenant_id, event_id FROM entries WHERE event_type = $1 ORDER BY seq', [type])).rows;

describe('audit events from Kafka', () => {
  it("when an account logs in at identity, then the audit log records the login with the account and its tenant", async () => {
    const account = await verifiedAccount(identity, identityUrl);
    const res = await login(identityUrl, account.email, account.password);
    expect(res.status).toBe(201);
    const { rows } = await identity.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [account.email]);
    await waitFor(async () => (await entries('com.bulwark.identity.login-succeeded')).some((e) => e.actor === rows[0]!.id), 'the login in the audit log', 60_000);
    const [entry] = (await entries('com.bulwark.identity.login-succeeded')).filter((e) => e.actor === rows[0]!.id);
    expect(entry!.tenant_id).toBe(rows[0]!.tenant_id);
  });

  it('when a refund event arrives twice with one id, then it is recorded once, and the log verifies', async () => {
    const data = { paymentId: `pay-${id}`, orderId: `ord-${id}`, pspIntentId: `pi-${id}`, amount: 1500, currency: 'EUR', version: 3, declineCode: null };
    const first = await producer.publish(paymentsTopic, PAYMENT_EVENTS.refunded, data, { key: data.paymentId });
    await producer.publish(paymentsTopic, PAYMENT_EVENTS.refunded, data, { key: data.paymentId, id: first.id });
    await producer.publish(paymentsTopic, PAYMENT_EVENTS.captured, data, { key: data.paymentId });
    await waitFor(async () => (await entries('com.bulwark.payments.payment-captured')).length === 1, 'the capture in the audit log', 60_000);
    const refunds = await entries('com.bulwark.payments.payment-refunded');
    expect(refunds.map((r) => r.event_id)).toEqual([first.id]);
    expect(refunds[0]!.tenant_id).toBe('-'); // payment events name no tenant: platform-wide entries
    await signTreeHead(audit.app.pool, audit.app.signer);
    const result = await verifyDatabase({ databaseUrl: pgUrl(), schema: audit.schema, publicKeyPems: [readFileSync(publicKeyPath(audit.keyFile), 'utf8')] });
    expect(result).toMatchObject({ ok: true });
  });
});
