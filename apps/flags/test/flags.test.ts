/**
 * Flags over HTTP against real PostgreSQL: admin writes with an audit trail,
 * bad input as 4xx problem+json, the kill switch, tenant isolation, the
 * snapshot and its SSE stream (Last-Event-ID), OFREP single and bulk, and
 * scheduled changes applied by the scheduler.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, OTHER_TENANT, PROBLEM, scrapeValue, TEST_TENANT } from '@bulwark/test-support';
import { ADMIN, booleanFlag, call, CUSTOMER, readEvents, setupFlags, type TestFlags } from './support.ts';

describe('flags', () => {
  let env: TestFlags;
  let url: string;
  beforeAll(async () => {
    env = await setupFlags();
    ({ url } = await env.start());
  });
  afterAll(() => env.cleanup());

  it('when an admin creates and changes a flag, then reads show it and the audit trail names who changed what, before and after', async () => {
    const created = await call(url, 'PUT', '/v1/flags/new-checkout', booleanFlag({ description: 'the new checkout' }), ADMIN);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ key: 'new-checkout', version: 1, killed: false, salt: 'new-checkout' });
    const changed = await call(url, 'PUT', '/v1/flags/new-checkout', booleanFlag({ description: 'v2', expectedVersion: 1 }), { 'x-auth-sub': 'admin-2', 'x-auth-roles': 'admin' });
    expect(changed.status).toBe(200);
    expect(changed.body.version).toBe(2);
    const stale = await call(url, 'PUT', '/v1/flags/new-checkout', booleanFlag({ expectedVersion: 1 }), ADMIN);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'FLAGS_VERSION_CONFLICT', version: 2 });
    const audit = await call(url, 'GET', '/v1/flags/new-checkout/audit', undefined, CUSTOMER);
    expect(audit.body.changes).toMatchObject([
      { action: 'updated', actor: 'admin-2', before: { description: 'the new checkout', version: 1 }, after: { description: 'v2', version: 2 } },
      { action: 'created', actor: 'admin-1', before: null, after: { version: 1 } },
    ]);
    expect((await call(url, 'GET', '/v1/flags/new-checkout', undefined, CUSTOMER)).body.description).toBe('v2');
  });

  it('when a non-admin writes or the flag is inconsistent or malformed, then the answer is 4xx problem+json naming the issue', async () => {
    const forbidden = await call(url, 'PUT', '/v1/flags/x', booleanFlag(), CUSTOMER);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain(PROBLEM);
    expect(forbidden.body.code).toBe('FLAGS_ADMIN_ONLY');
    const inconsistent = await call(url, 'PUT', '/v1/flags/x', booleanFlag({ variants: { on: 'yes', off: false } }), ADMIN);
    expect(inconsistent.status).toBe(422);
    expect(inconsistent.body).toMatchObject({ code: 'FLAGS_INVALID_FLAG', inconsistencies: ['variants.on: not a boolean'] });
    const malformed = await call(url, 'PUT', '/v1/flags/Bad Key', { type: 'colour' }, ADMIN);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain(PROBLEM);
    const noTenant = await call(url, 'GET', '/v1/flags', undefined, { 'x-auth-tenant': '' });
    expect(noTenant.status).toBe(401);
    expect((await call(url, 'GET', '/v1/flags/nope')).status).toBe(404);
  });

  it("when another tenant lists flags, then it sees none of this tenant's", async () => {
    await call(url, 'PUT', '/v1/flags/mine', booleanFlag(), ADMIN);
    const other = await call(url, 'GET', '/v1/flags', undefined, { 'x-auth-tenant': OTHER_TENANT });
    expect(other.status).toBe(200);
    expect(other.body.flags).toEqual([]);
    expect((await call(url, 'GET', '/v1/flags/mine', undefined, { 'x-auth-tenant': OTHER_TENANT })).status).toBe(404);
  });

  it('when the kill switch is on, then OFREP serves the off variant with DISABLED whatever the rules say, and revived serves the rules again', async () => {
    await call(url, 'PUT', '/v1/flags/killable', booleanFlag(), ADMIN);
    const ctx = { context: { targetingKey: 'u-1' } };
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/killable', ctx)).body).toMatchObject({ key: 'killable', value: true, reason: 'STATIC', variant: 'on' });
    expect((await call(url, 'PUT', '/v1/flags/killable/kill', { killed: true, reason: 'incident 42' }, ADMIN)).body.killed).toBe(true);
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/killable', ctx)).body).toMatchObject({ value: false, reason: 'DISABLED', variant: 'off' });
    await call(url, 'PUT', '/v1/flags/killable/kill', { killed: false }, ADMIN);
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/killable', ctx)).body).toMatchObject({ value: true });
    const audit = await call(url, 'GET', '/v1/flags/killable/audit');
    expect(audit.body.changes.map((c: { action: string }) => c.action)).toEqual(['revived', 'killed', 'created']);
    expect(audit.body.changes[1].after.reason).toBe('incident 42');
  });

  it('when OFREP evaluates with segments and rules, a missing flag or a rollout without key, then it answers OFREP shapes, and bulk answers 304 to its ETag', async () => {
    await call(url, 'PUT', '/v1/segments/staff', { included: ['alice'], clauses: [{ attribute: 'email', op: 'endsWith', values: ['@bulwark.test'] }] }, ADMIN);
    const flag = {
      type: 'string',
      variants: { old: 'classic', new: 'modern' },
      environments: {
        production: {
          enabled: true,
          offVariant: 'old',
          rules: [{ id: 'staff', clauses: [{ segment: 'staff' }], serve: { variant: 'new' } }],
          fallthrough: { rollout: [{ variant: 'old', weight: 50 }, { variant: 'new', weight: 50 }] },
        },
      },
    };
    expect((await call(url, 'PUT', '/v1/flags/theme', flag, ADMIN)).status).toBe(201);
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/theme', { context: { targetingKey: 'bob', email: 'bob@bulwark.test' } })).body).toMatchObject({ value: 'modern', reason: 'TARGETING_MATCH' });
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/theme', { context: { targetingKey: 'carol' } })).body).toMatchObject({ reason: 'SPLIT' });
    const noKey = await call(url, 'POST', '/ofrep/v1/evaluate/flags/theme', { context: {} });
    expect(noKey.status).toBe(400);
    expect(noKey.body).toMatchObject({ key: 'theme', errorCode: 'TARGETING_KEY_MISSING' });
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags/ghost', { context: {} })).body).toMatchObject({ errorCode: 'FLAG_NOT_FOUND' });
    const inUse = await call(url, 'DELETE', '/v1/segments/staff', undefined, ADMIN);
    expect(inUse).toMatchObject({ status: 409, body: { code: 'FLAGS_SEGMENT_IN_USE', flags: ['theme'] } });

    const bulk = await call(url, 'POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'alice' } });
    expect(bulk.status).toBe(200);
    expect(bulk.body.flags).toEqual(expect.arrayContaining([expect.objectContaining({ key: 'theme', value: 'modern' })]));
    const etag = bulk.headers.get('etag')!;
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'alice' } }, { 'if-none-match': etag })).status).toBe(304);
    await call(url, 'PUT', '/v1/flags/theme/kill', { killed: true }, ADMIN);
    expect((await call(url, 'POST', '/ofrep/v1/evaluate/flags', { context: { targetingKey: 'alice' } }, { 'if-none-match': etag })).status).toBe(200);
  });

  it('when a stream names the current revision in Last-Event-ID, then it gets no snapshot until a change, and then the new one', async () => {
    const streamUrl = `${url}/v1/snapshot/stream?environment=production`;
    const first = await readEvents(streamUrl, { 'x-auth-tenant': TEST_TENANT }, (events) => events.length >= 1);
    const snapshot = JSON.parse(first[0]!.data);
    expect(first[0]).toMatchObject({ event: 'snapshot', id: String(snapshot.revision) });
    expect(snapshot).toMatchObject({ tenant: TEST_TENANT, environment: 'production' });
    const streams = () => scrapeValue(url, 'flags_snapshot_streams');
    await eventually('the first stream is closed', streams, (n) => n === 0);
    const next = readEvents(streamUrl, { 'x-auth-tenant': TEST_TENANT, 'last-event-id': first[0]!.id! }, (events) => events.length >= 1);
    // The change is made once the stream is registered (its gauge counts it); no sleeping.
    await eventually('the stream is open', streams, (n) => n === 1);
    await call(url, 'PUT', '/v1/flags/streamed', booleanFlag(), ADMIN);
    const [event] = await next;
    const changed = JSON.parse(event!.data);
    expect(changed.revision).toBeGreaterThan(snapshot.revision);
    expect(changed.flags.streamed).toMatchObject({ key: 'streamed', enabled: true });
  });

  it('when a change is made on another replica, then a stream held by this one gets it through the revision poll', async () => {
    const { url: other } = await env.start();
    const streamUrl = `${url}/v1/snapshot/stream?environment=production`;
    const current = (await call(url, 'GET', '/v1/snapshot')).body.revision as number;
    const streams = () => scrapeValue(url, 'flags_snapshot_streams');
    await eventually('no stream is open', streams, (n) => n === 0);
    const next = readEvents(streamUrl, { 'x-auth-tenant': TEST_TENANT, 'last-event-id': String(current) }, (events) => events.length >= 1);
    await eventually('the stream is open', streams, (n) => n === 1);
    expect((await call(other, 'PUT', '/v1/flags/from-elsewhere', booleanFlag(), ADMIN)).status).toBe(201);
    const [event] = await next;
    expect(JSON.parse(event!.data).flags['from-elsewhere']).toMatchObject({ key: 'from-elsewhere' });
  });

  it('when a change is scheduled for now, then the scheduler applies it as its author and the audit says so; a cancelled one never applies', async () => {
    await call(url, 'PUT', '/v1/flags/timed', booleanFlag(), ADMIN);
    const later = await call(url, 'POST', '/v1/flags/timed/scheduled-changes', { applyAt: new Date(Date.now() + 3_600_000).toISOString(), change: { killed: true } }, ADMIN);
    expect(later.status).toBe(201);
    expect((await call(url, 'DELETE', `/v1/scheduled-changes/${later.body.id}`, undefined, ADMIN)).body.status).toBe('cancelled');
    const due = await call(url, 'POST', '/v1/flags/timed/scheduled-changes', { applyAt: new Date().toISOString(), change: { environment: 'production', enabled: false } }, ADMIN);
    expect(due.body).toMatchObject({ status: 'pending', actor: 'admin-1' });
    const changes = await eventually(
      'the scheduled change is applied',
      async () => (await call(url, 'GET', '/v1/flags/timed/scheduled-changes')).body.changes as { id: string; status: string }[],
      (list) => list.find((c) => c.id === due.body.id)?.status === 'applied',
    );
    expect(changes.find((c) => c.id === later.body.id)?.status).toBe('cancelled');
    expect((await call(url, 'GET', '/v1/flags/timed')).body.environments.production.enabled).toBe(false);
    const audit = await call(url, 'GET', '/v1/flags/timed/audit');
    expect(audit.body.changes[0]).toMatchObject({ action: 'scheduled-change-applied', actor: 'admin-1 (scheduled)' });
    const bad = await call(url, 'POST', '/v1/flags/timed/scheduled-changes', { applyAt: 'tomorrow', change: { killed: true } }, ADMIN);
    expect(bad.status).toBe(400);
    expect((await call(url, 'POST', '/v1/flags/timed/scheduled-changes', { applyAt: new Date().toISOString(), change: { environment: 'moon' } }, ADMIN)).body.code).toBe('FLAGS_UNKNOWN_ENVIRONMENT');
  });
});
