/**
 * The order confirmation mail end to end against the real parts: an
 * order-confirmed event on a real Kafka topic (published with orders' own
 * definition: a contract test) names the customer; notifications fetches its
 * client-credentials token from the real identity, reads the customer's
 * contact details from identity's internal API, and the email reaches a real
 * SMTP server once, although the event is delivered twice and the order is
 * confirmed again under another event id.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { connectAdmin, createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { startWithIssuer } from '../../identity/test/oidc-support.ts';
import { setupIdentity, verifiedAccount, type TestIdentity } from '../../identity/test/support.ts';
import { KAFKA_EVENTS, orderEventSchemas } from '../../orders/src/domain/events.ts';
import { kafkaBrokers, scrapeValue, type SmtpCapture, startSmtpCapture } from '@bulwark/test-support';
import { setupNotifications, silent, waitFor, type TestNotifications } from './support.ts';

const CLIENT_SECRET = 'notifications-secret-0123456789abcdef01234';

let smtp: SmtpCapture;
let identity: TestIdentity;
let identityUrl: string;
let t: TestNotifications;
let producer: EventProducer | undefined;
const kafka = () => createKafka({ brokers: kafkaBrokers(), clientId: `notifications-test-${t.id}`, log: silent });

beforeAll(async () => {
  smtp = await startSmtpCapture();
  identity = await setupIdentity();
  ({ url: identityUrl } = await startWithIssuer(identity, { OIDC_SERVICE_CLIENTS: `notifications=${CLIENT_SECRET}` }));
  t = await setupNotifications();
}, 60_000);
afterAll(async () => {
  await producer?.close();
  await t.cleanup();
  await identity.cleanup();
  await smtp.close();
  const admin = await connectAdmin(kafka());
  const topics = (await admin.listTopics()).filter((name) => name.startsWith(`test.${t.id}.`));
  if (topics.length > 0) await admin.deleteTopics(topics);
  await admin.disconnect();
});

const subjectOf = (raw: string) => /^Subject: (.*)$/m.exec(raw)?.[1];

describe('order confirmation mail', () => {
  it('when an order-confirmed event names the customer, delivered twice and confirmed again under another id, then the customer gets one confirmation mail from the template, through identity with a service token', async () => {
    const { email } = await verifiedAccount(identity, identityUrl);
    const account = (await identity.db.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM users WHERE email = $1', [email])).rows[0]!;
    const orders = `test.${t.id}.orders`;
    const { url } = await t.startApp({
      EVENTS_ENABLED: 'true',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      EVENTS_TOPICS: orders,
      EVENTS_GROUP: `g-notifications-${t.id}`,
      EVENTS_TENANT: `platform-${t.id}`,
      IDENTITY_URL: identityUrl,
      IDENTITY_CLIENT_SECRET: CLIENT_SECRET,
      SMTP_PORT: String(smtp.port),
      SMTP_IGNORE_TLS: 'true',
    });
    producer = createProducer({ kafka: kafka(), schemas: orderEventSchemas, source: '/bulwark/orders', registry: new Registry(), log: silent });
    const orderId = `o-${t.id}`;
    const data = { orderId, version: 6, sagaId: 's-1', customerId: account.id };
    const confirmed = await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, data, { key: orderId });
    await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, data, { key: orderId, id: confirmed.id }); // the same event again
    await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { ...data, version: 7 }, { key: orderId }); // the same order, another event id

    // A sentinel on the same partition, handled after all three: once its mail is out, theirs would be too.
    const sentinelOrder = `o-${t.id}-sentinel`;
    await producer.publish(orders, KAFKA_EVENTS.OrderConfirmed, { orderId: sentinelOrder, version: 6, sagaId: 's-2', customerId: account.id }, { key: orderId });
    await waitFor(() => smtp.mails.some((m) => subjectOf(m.raw) === `Order ${sentinelOrder} confirmed`), 'the sentinel order confirmation mail', 60_000);
    const sent = async () => (await t.db.query(`SELECT 1 FROM messages WHERE template = 'order-confirmed' AND status = 'sent'`)).rowCount;
    await waitFor(async () => (await sent()) === 2, 'both messages marked sent');

    const forOrder = smtp.mails.filter((m) => subjectOf(m.raw) === `Order ${orderId} confirmed`);
    expect(forOrder).toHaveLength(1);
    expect(forOrder[0]!.to).toEqual([email]);
    expect(forOrder[0]!.raw).toContain(orderId);
    const rows = (await t.db.query<{ tenant_id: string; recipient: string; status: string; source_event_id: string; idempotency_key: string }>(
      `SELECT tenant_id, recipient, status, source_event_id, idempotency_key FROM messages WHERE template = 'order-confirmed' ORDER BY created_at`,
    )).rows;
    expect(rows).toEqual([
      { tenant_id: account.tenant_id, recipient: email, status: 'sent', source_event_id: confirmed.id, idempotency_key: `order-confirmed:${orderId}` },
      expect.objectContaining({ tenant_id: account.tenant_id, recipient: email, status: 'sent', idempotency_key: `order-confirmed:${sentinelOrder}` }),
    ]);
    expect(await scrapeValue(url, 'notifications_confirmation_mails_total', 'outcome="queued"')).toBe(2);
    expect(await scrapeValue(url, 'notifications_confirmation_mails_total', 'outcome="duplicate"')).toBe(1);
    // One token for all of it (cached), fetched from identity with the client credentials.
    expect(await scrapeValue(url, 'notifications_service_tokens_total', 'outcome="ok"')).toBe(1);
  }, 120_000);
});
