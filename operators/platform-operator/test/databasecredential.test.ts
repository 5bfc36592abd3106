/**
 * DatabaseCredential against the real API server and the real PostgreSQL:
 * the operator creates the two login roles in a NOLOGIN group holding the
 * grants, writes the Secret, and on two rotate-now requests flips a → b → a
 * with a new password each time, while four loops open a new connection
 * for every query through @bulwark/db's fileCredentials (the Secret
 * projected into a file as the kubelet would: databasecredential-fixture.ts).
 * Zero queries may fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { silentLogger } from '../src/log.ts';
import { Operator } from '../src/operator.ts';
import { databaseCredentialController } from '../src/reconcilers/databasecredential.ts';
import { admin, type CredentialFixture, setupCredentialFixture } from './databasecredential-fixture.ts';
import { CLUSTER_START_MS, eventually } from './helpers.ts';

let fx: CredentialFixture;
let operator: Operator | undefined;

beforeAll(async () => {
  fx = await setupCredentialFixture();
}, CLUSTER_START_MS);

afterAll(async () => {
  await operator?.stop();
  await fx?.cleanup();
});

describe('DatabaseCredential rotation', () => {
  it('when two rotations are requested under a load of fresh connections, then the roles flip a → b → a with new passwords, the Secret follows, and no query fails', async () => {
    const { kc, namespace, prefix, group } = fx;
    const registry = new Registry();
    operator = new Operator({
      kc,
      identity: 'op-dbcred',
      namespace,
      leaseName: 'platform-operator',
      timings: { leaseDurationMs: 2_000, renewDeadlineMs: 1_500, retryPeriodMs: 300 },
      controllers: [databaseCredentialController({ kc, identity: 'op-dbcred', namespace, registry, log: silentLogger })],
      registry,
      port: 0,
      host: '127.0.0.1',
      log: silentLogger,
    });
    await operator.start();
    await fx.create();
    await eventually('bootstrapped', fx.read, (c) => c.status?.activeRole === `${prefix}_a`);
    const bootstrap = (await fx.secret())!;
    expect(bootstrap.username).toBe(`${prefix}_a`);

    const load = await fx.startLoad(4);
    try {
      for (const [request, to, count] of [['r1', `${prefix}_b`, 1], ['r2', `${prefix}_a`, 2]] as const) {
        const before = load.ok;
        await fx.requestRotation(request);
        await eventually(`rotated to ${to}`, fx.read, (c) => c.status?.activeRole === to && c.status.rotations === count, 60_000);
        await eventually(`queries as ${to}`, () => ({ last: load.users.at(-1), ok: load.ok }), (s) => s.last === to && s.ok > before + 20, 60_000);
      }
    } finally {
      await load.stop();
    }
    expect(load.failures).toEqual([]);
    // Logins as a, then b, then a again; four loops straddle each flip, so the folded order may swing a → b → a → b → a around one.
    expect(load.users[0]).toBe(`${prefix}_a`);
    expect(load.users).toContain(`${prefix}_b`);
    expect(load.users.at(-1)).toBe(`${prefix}_a`);
    expect(load.ok).toBeGreaterThan(40);
    const final = (await fx.secret())!;
    expect(final.username).toBe(`${prefix}_a`);
    expect(final.password).not.toBe(bootstrap.password);
    // The login roles hold no grants of their own: the group does.
    const { rows } = await admin(
      `SELECT r.rolname, r.rolcanlogin, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)::text[] AS member_of
       FROM pg_roles r WHERE r.rolname LIKE $1 ORDER BY r.rolname`,
      [`${prefix}%`],
    );
    expect(rows).toEqual([
      { rolname: `${prefix}_a`, rolcanlogin: true, member_of: [group] },
      { rolname: `${prefix}_b`, rolcanlogin: true, member_of: [group] },
      { rolname: group, rolcanlogin: false, member_of: [] },
    ]);
  }, 180_000);
});
