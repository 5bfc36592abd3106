/**
 * Secrets against the real PostgreSQL, identity and Kafka: versions are
 * stored encrypted (no plaintext in the table), read latest or by version,
 * listed without values and disabled for good; a service reads only what
 * its tenant's policy allows it, with its own client-credentials token; and
 * every read reaches the real audit service through Kafka as an entry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kafkaBrokers, suffix } from '@bulwark/test-support';
import { setupAudit, type TestAudit } from '../../audit/test/support.ts';
import { ADMIN, call, enc, OTHER_TENANT, PROBLEM, setupSecrets, TEST_TENANT, waitFor, type TestSecrets } from './support.ts';

const id = suffix();
const topic = `secrets.events.${id}`;
let env: TestSecrets;
let url: string;
let audit: TestAudit;

beforeAll(async () => {
  const brokers = kafkaBrokers().join(',');
  env = await setupSecrets();
  ({ url } = await env.start({ KAFKA_BROKERS: brokers, SECRETS_TOPIC: topic, OUTBOX_POLL_MS: '50' }));
  audit = await setupAudit({ EVENTS_ENABLED: 'true', KAFKA_BROKERS: brokers, AUDIT_TOPICS: topic, AUDIT_GROUP: `audit-${id}`, AUDIT_FAST_CONSUMER: 'true' });
  await audit.app.consumerStarted;
}, 120_000);

afterAll(async () => {
  await audit?.cleanup();
  await env?.cleanup();
});

const asService = async (client: 'orders' | 'notifications', tenant = TEST_TENANT) => ({ authorization: await env.issuer[client].authorization(), 'x-auth-tenant': tenant });

describe('secrets', () => {
  it('when an admin writes two versions, then each is stored encrypted, the latest and each version read back, and the list carries no values', async () => {
    const name = 'payments/psp-key';
    const v1 = await call(url, 'PUT', `/v1/secrets/${enc(name)}`, { value: 'first-value-7c1' }, ADMIN);
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ name, version: 1, createdBy: 'admin-1', disabledAt: null, kekVersion: 1 });
    expect((await call(url, 'PUT', `/v1/secrets/${enc(name)}`, { value: 'second-value-9d2' }, ADMIN)).body).toMatchObject({ version: 2 });
    const stored = await env.superuser.query<{ ciphertext: Buffer; wrapped_key: Buffer }>('SELECT ciphertext, wrapped_key FROM secret_versions WHERE name = $1', [name]);
    expect(stored.rows).toHaveLength(2);
    for (const row of stored.rows) expect(row.ciphertext.toString('latin1')).not.toMatch(/value/);
    expect((await call(url, 'GET', `/v1/secrets/${enc(name)}`, undefined, ADMIN)).body).toMatchObject({ version: 2, value: 'second-value-9d2' });
    expect((await call(url, 'GET', `/v1/secrets/${enc(name)}?version=1`, undefined, ADMIN)).body).toMatchObject({ version: 1, value: 'first-value-7c1' });
    const list = await call(url, 'GET', `/v1/secrets/${enc(name)}/versions`, undefined, ADMIN);
    expect(list.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(list.text).not.toMatch(/value-/);
  });

  it("when another tenant's admin asks for the secret, then it does not exist there (row-level security)", async () => {
    await call(url, 'PUT', `/v1/secrets/${enc('tenant-only')}`, { value: 'x' }, ADMIN);
    const other = await call(url, 'GET', `/v1/secrets/${enc('tenant-only')}`, undefined, { ...ADMIN, 'x-auth-tenant': OTHER_TENANT });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toBe(PROBLEM);
    expect(other.body).toMatchObject({ code: 'SECRETS_NOT_FOUND' });
  });

  it('when a version is disabled, then reading it is 410 while other versions still read, and the list shows when', async () => {
    const name = 'webhooks/signing';
    await call(url, 'PUT', `/v1/secrets/${enc(name)}`, { value: 'old' }, ADMIN);
    await call(url, 'PUT', `/v1/secrets/${enc(name)}`, { value: 'new' }, ADMIN);
    const disabled = await call(url, 'POST', `/v1/secrets/${enc(name)}/versions/1/disable`, undefined, ADMIN);
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).toEqual(expect.any(String));
    const gone = await call(url, 'GET', `/v1/secrets/${enc(name)}?version=1`, undefined, ADMIN);
    expect(gone.status).toBe(410);
    expect(gone.body).toMatchObject({ code: 'SECRETS_VERSION_DISABLED', version: 1 });
    expect((await call(url, 'GET', `/v1/secrets/${enc(name)}`, undefined, ADMIN)).body).toMatchObject({ version: 2, value: 'new' });
    expect((await call(url, 'POST', `/v1/secrets/${enc(name)}/versions/9/disable`, undefined, ADMIN)).status).toBe(404);
  });

  it('when a caller is not an admin or sends bad input, then 4xx problem+json and nothing is written', async () => {
    const notAdmin = await call(url, 'PUT', `/v1/secrets/x`, { value: 'v' }, { ...ADMIN, 'x-auth-roles': 'customer' });
    expect(notAdmin.status).toBe(403);
    expect(notAdmin.body).toMatchObject({ code: 'SECRETS_ADMIN_ONLY' });
    expect((await call(url, 'PUT', `/v1/secrets/${enc('../etc')}`, { value: 'v' }, ADMIN)).status).toBe(400);
    expect((await call(url, 'PUT', `/v1/secrets/y`, { value: '' }, ADMIN)).status).toBe(400);
    expect((await call(url, 'PUT', `/v1/secrets/y`, { value: 'z'.repeat(70_000) }, ADMIN)).body).toMatchObject({ code: 'SECRETS_VALUE_TOO_LARGE' });
    expect((await call(url, 'PUT', '/v1/secret-policies/orders', { patterns: ['a*'] }, ADMIN)).status).toBe(400);
    const { rows } = await env.superuser.query<{ n: number }>("SELECT count(*)::int AS n FROM secrets WHERE name IN ('x', 'y')");
    expect(rows[0]!.n).toBe(0);
  });

  it("when a service reads, then only names its tenant's policy allows it are served, to its own token only", async () => {
    await call(url, 'PUT', `/v1/secrets/${enc('orders/db')}`, { value: 'orders-db-pass' }, ADMIN);
    await call(url, 'PUT', `/v1/secrets/${enc('payments/psp-key')}`, { value: 'psp' }, ADMIN);
    expect((await call(url, 'PUT', '/v1/secret-policies/orders', { patterns: ['orders/*'] }, ADMIN)).status).toBe(204);
    const read = await call(url, 'GET', `/v1/internal/secrets/${enc('orders/db')}`, undefined, await asService('orders'));
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name: 'orders/db', version: 1, value: 'orders-db-pass' });
    expect(read.headers.get('cache-control')).toBe('no-store');
    const outside = await call(url, 'GET', `/v1/internal/secrets/${enc('payments/psp-key')}`, undefined, await asService('orders'));
    expect(outside.status).toBe(403);
    expect(outside.body).toMatchObject({ code: 'SECRETS_ACCESS_DENIED', clientId: 'orders' });
    // no policy for notifications; a name that does not exist is 403 too, so it does not learn which exist
    expect((await call(url, 'GET', `/v1/internal/secrets/${enc('orders/db')}`, undefined, await asService('notifications'))).body).toMatchObject({ code: 'SECRETS_ACCESS_DENIED' });
    expect((await call(url, 'GET', `/v1/internal/secrets/${enc('nope/nope')}`, undefined, await asService('notifications'))).status).toBe(403);
    // the policy is the tenant's: in another tenant orders may read nothing
    expect((await call(url, 'GET', `/v1/internal/secrets/${enc('orders/db')}`, undefined, await asService('orders', OTHER_TENANT))).status).toBe(403);
    const user = await call(url, 'GET', `/v1/internal/secrets/${enc('orders/db')}`, undefined, { authorization: `Bearer ${await env.issuer.userToken()}`, 'x-auth-tenant': TEST_TENANT });
    expect(user.status).toBe(403);
    expect(user.body).toMatchObject({ code: 'ROLE_MISSING' });
    expect((await call(url, 'GET', `/v1/internal/secrets/${enc('orders/db')}`, undefined, { 'x-auth-tenant': TEST_TENANT })).status).toBe(401);
    const policies = await call(url, 'GET', '/v1/secret-policies', undefined, ADMIN);
    expect(policies.body.policies).toEqual([expect.objectContaining({ clientId: 'orders', patterns: ['orders/*'], updatedBy: 'admin-1' })]);
  });

  it('when secrets are read, then every read (service and admin) and every change reaches the audit log through Kafka, with who read which version and no value', async () => {
    await call(url, 'PUT', `/v1/secrets/${enc('orders/audited')}`, { value: 'audited-value' }, ADMIN);
    await call(url, 'PUT', '/v1/secret-policies/orders', { patterns: ['orders/*'] }, ADMIN);
    for (let i = 0; i < 3; i++) expect((await call(url, 'GET', `/v1/internal/secrets/${enc('orders/audited')}`, undefined, await asService('orders'))).status).toBe(200);
    expect((await call(url, 'GET', `/v1/secrets/${enc('orders/audited')}`, undefined, ADMIN)).status).toBe(200);
    const reads = async () =>
      (await audit.superuser.query<{ actor: string; tenant_id: string; body: string }>("SELECT actor, tenant_id, body FROM entries WHERE event_type = 'com.bulwark.secrets.secret-read' AND body LIKE '%orders/audited%' ORDER BY seq")).rows;
    await waitFor(async () => (await reads()).length === 4, 'four reads of orders/audited in the audit log', 60_000);
    const rows = await reads();
    expect(rows.map((r) => r.actor).sort()).toEqual(['admin-1', 'orders', 'orders', 'orders']);
    expect(rows.every((r) => r.tenant_id === TEST_TENANT)).toBe(true);
    expect(rows.map((r) => r.body).join('\n')).not.toContain('audited-value');
    await waitFor(async () => (await audit.superuser.query("SELECT 1 FROM entries WHERE event_type = 'com.bulwark.secrets.access-policy-changed'")).rowCount! > 0, 'the policy change in the audit log', 60_000);
    const denied = await call(url, 'GET', `/v1/internal/secrets/${enc('payments/psp-key')}`, undefined, await asService('orders'));
    expect(denied.status).toBe(403);
  });
});
