/**
 * A crash in the middle of consumption: the audit service as a real child
 * process is killed with SIGKILL while payments' events stream in; a new
 * process takes over the consumer group. Every event is in the log exactly
 * once, and the log (chain, tree, signatures) verifies: an entry and its
 * head update commit together or not at all.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { createKafka, createProducer, type EventProducer } from '@bulwark/events';
import { freePort, kafkaBrokers, pgUrl, runtimeDbUrl, startService, suffix, type Service } from '@bulwark/test-support';
import { PAYMENT_EVENTS, paymentEventSchemas } from '../../payments/src/domain/payment-events.ts';
import { verifyDatabase } from '../src/cli/audit.ts';
import { publicKeyPath } from '../src/domain/signing-key.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { setupAudit, silent, waitFor, type TestAudit } from './support.ts';

const EVENTS = 300;
const id = suffix();
const topic = `payments.events.${id}`;
let audit: TestAudit;
let producer: EventProducer;
const children: Service[] = [];

beforeAll(async () => {
  audit = await setupAudit();
  producer = createProducer({ kafka: createKafka({ brokers: kafkaBrokers(), clientId: `audit-faults-${id}` }), schemas: paymentEventSchemas, source: '/bulwark/payments', registry: new Registry(), log: silent });
});

afterAll(async () => {
  for (const c of children) await c.kill('SIGKILL').catch(() => undefined);
  await producer?.close();
  await audit?.cleanup();
});

async function spawnAudit(): Promise<Service> {
  const port = await freePort();
  const child = await startService({
    main: 'src/main.ts',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    port,
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '1000',
      DATABASE_URL: await runtimeDbUrl(pgUrl()),
      MIGRATION_DATABASE_URL: pgUrl(),
      AUDIT_SCHEMA: audit.schema,
      AUDIT_SIGNING_KEY_FILE: audit.keyFile,
      AUDIT_SIGNING_KEY_CREATE: 'false',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      AUDIT_TOPICS: topic,
      AUDIT_GROUP: `audit-faults-${id}`,
      AUDIT_FAST_CONSUMER: 'true',
    },
  });
  children.push(child);
  return child;
}

const count = async () => Number((await audit.superuser.query<{ n: string }>('SELECT count(*) AS n FROM entries')).rows[0]!.n);

describe('audit under a crash', () => {
  it('when the service is killed with SIGKILL mid-stream and another takes over, then every event is in the log once and the log verifies', async () => {
    const first = await spawnAudit();
    for (let i = 0; i < EVENTS; i++) {
      const data = { paymentId: `pay-${id}-${i}`, orderId: `ord-${i}`, pspIntentId: `pi-${i}`, amount: 100 + i, currency: 'EUR', version: 1, declineCode: null };
      await producer.publish(topic, PAYMENT_EVENTS.captured, data, { key: data.paymentId });
    }
    await waitFor(async () => (await count()) >= 20, 'some entries before the crash', 60_000);
    expect(await first.kill('SIGKILL')).toBe(null);
    const atCrash = await count();
    expect(atCrash).toBeLessThan(EVENTS); // the crash came mid-stream
    await spawnAudit();
    await waitFor(async () => (await count()) === EVENTS, `all ${EVENTS} events in the log after the crash (had ${atCrash})`, 90_000);
    const { rows } = await audit.superuser.query<{ n: string; max: string }>('SELECT count(DISTINCT event_id) AS n, max(seq) AS max FROM entries');
    expect(rows[0]).toEqual({ n: String(EVENTS), max: String(EVENTS - 1) });
    await signTreeHead(audit.app.pool, audit.app.signer);
    const result = await verifyDatabase({ databaseUrl: pgUrl(), schema: audit.schema, publicKeyPems: [readFileSync(publicKeyPath(audit.keyFile), 'utf8')] });
    expect(result).toMatchObject({ ok: true, entries: EVENTS });
  }, 180_000);
});
