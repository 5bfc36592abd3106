/**
 * DatabaseCredential against the real API server and the real PostgreSQL:
 * the operator creates the two login roles in a NOLOGIN group holding the
 * grants, writes the Secret, and on two rotate-now requests flips a → b → a
 * with a new password each time, while four loops open a new connection
 * for every query through @bulwark/db's fileCredentials. The file is what
 * the kubelet would project from the Secret (there is no kubelet here: a
 * poller copies the Secret's credentials.json with an atomic rename).
 * Zero queries may fail.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createPool, fileCredentials } from '@bulwark/db';
import { pgUrl, silent } from '@bulwark/test-support';
import { ensureCluster } from '../../../scripts/cluster/index.ts';
import { silentLogger } from '../src/log.ts';
import { Operator } from '../src/operator.ts';
import { DATABASECREDENTIAL, type DatabaseCredential, databaseCredentialController, ROTATE_ANNOTATION } from '../src/reconcilers/databasecredential.ts';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, eventually, installCrds } from './helpers.ts';

const prefix = `dbc_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
const group = `${prefix}_grp`;
const schema = `${prefix}_data`;
const dir = mkdtempSync(join(tmpdir(), 'dbcred-'));
const credentialsFile = join(dir, 'credentials.json');

let kc: KubeConfig;
let namespace: string;
let operator: Operator | undefined;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: pgUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  kc = await connect();
  await installCrds();
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/databasecredentials.bulwark.dev'], { stdio: 'pipe' });
  namespace = await createNamespace(kc, 'dbcred');
  // What the service's migrations would do: its data, granted to the group role (created here first so the grant can name it).
  await admin(`CREATE ROLE ${group} NOLOGIN; CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.items (n int); INSERT INTO ${schema}.items SELECT generate_series(1, 10);
               GRANT USAGE ON SCHEMA ${schema} TO ${group}; GRANT SELECT ON ${schema}.items TO ${group}`);
}, CLUSTER_START_MS);

afterAll(async () => {
  await operator?.stop();
  await deleteNamespace(kc, namespace);
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP ROLE IF EXISTS ${prefix}_a; DROP ROLE IF EXISTS ${prefix}_b; DROP ROLE IF EXISTS ${group}`).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('DatabaseCredential rotation', () => {
  it('when two rotations are requested under a load of fresh connections, then the roles flip a → b → a with new passwords, the Secret follows, and no query fails', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pg-admin' }, stringData: { url: pgUrl() } } });
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
    const ref = { group: DATABASECREDENTIAL.group, version: DATABASECREDENTIAL.version, plural: DATABASECREDENTIAL.plural, namespace, name: 'catalog-db' };
    await custom.createNamespacedCustomObject({
      ...ref,
      body: {
        apiVersion: `${DATABASECREDENTIAL.group}/${DATABASECREDENTIAL.version}`,
        kind: DATABASECREDENTIAL.kind,
        metadata: { name: 'catalog-db' },
        spec: { role: prefix, groupRole: group, secretName: 'catalog-db-credentials', adminSecretRef: { name: 'pg-admin', key: 'url' }, rotationIntervalSeconds: 86_400, minFlipIntervalSeconds: 1 },
      },
    });
    const read = () => custom.getNamespacedCustomObject(ref) as Promise<DatabaseCredential>;
    const secretFile = async () => {
      const s = await core.readNamespacedSecret({ namespace, name: 'catalog-db-credentials' }).catch(() => undefined);
      const data = s?.data?.['credentials.json'];
      return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    };
    await eventually('bootstrapped', read, (c) => c.status?.activeRole === `${prefix}_a`);
    const bootstrap = JSON.parse((await secretFile())!) as { username: string; password: string };
    expect(bootstrap.username).toBe(`${prefix}_a`);

    // The kubelet's part: project the Secret into a file, swapped atomically.
    let projecting = true;
    let lastProjected = '';
    const project = async () => {
      const text = await secretFile();
      if (text && text !== lastProjected) {
        writeFileSync(`${credentialsFile}.tmp`, text);
        renameSync(`${credentialsFile}.tmp`, credentialsFile);
        lastProjected = text;
      }
    };
    await project();
    const projector = (async () => {
      while (projecting) {
        await project();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();

    const pool = createPool({ connectionString: pgUrl(), name: 'dbcred-load', max: 8, credentials: fileCredentials(credentialsFile), searchPath: [schema], registry: new Registry(), log: silent });
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const users: string[] = [];
    const loop = async () => {
      while (running) {
        try {
          const client = await pool.connect();
          try {
            const { rows } = await client.query<{ u: string; n: number }>('SELECT current_user AS u, count(*)::int AS n FROM items');
            if (rows[0]!.n !== 10) failures.push(`count ${rows[0]!.n}`);
            if (users.at(-1) !== rows[0]!.u) users.push(rows[0]!.u);
            ok++;
          } finally {
            client.release(true); // a new connection (a new login) for every query
          }
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const loops = Array.from({ length: 4 }, loop);
    try {
      for (const [request, to] of [['r1', `${prefix}_b`], ['r2', `${prefix}_a`]] as const) {
        const before = ok;
        await custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { annotations: { [ROTATE_ANNOTATION]: request } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
        await eventually(`rotated to ${to}`, read, (c) => c.status?.activeRole === to && c.status.rotations === (request === 'r1' ? 1 : 2), 60_000);
        await eventually(`queries as ${to}`, () => ({ last: users.at(-1), ok }), (s) => s.last === to && s.ok > before + 20, 60_000);
      }
    } finally {
      running = false;
      await Promise.all(loops);
      projecting = false;
      await projector;
      await pool.close();
    }
    expect(failures).toEqual([]);
    expect(users).toEqual([`${prefix}_a`, `${prefix}_b`, `${prefix}_a`]);
    expect(ok).toBeGreaterThan(40);
    const final = JSON.parse((await secretFile())!) as { username: string; password: string };
    expect(final.username).toBe(`${prefix}_a`);
    expect(final.password).not.toBe(bootstrap.password);
    // The login roles hold no grants of their own: the group does.
    const c = new pg.Client({ connectionString: pgUrl() });
    await c.connect();
    const { rows } = await c.query<{ rolname: string; rolcanlogin: boolean; member_of: string[] }>(
      `SELECT r.rolname, r.rolcanlogin, ARRAY(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid)::text[] AS member_of
       FROM pg_roles r WHERE r.rolname LIKE $1 ORDER BY r.rolname`,
      [`${prefix}%`],
    );
    await c.end();
    expect(rows).toEqual([
      { rolname: `${prefix}_a`, rolcanlogin: true, member_of: [group] },
      { rolname: `${prefix}_b`, rolcanlogin: true, member_of: [group] },
      { rolname: group, rolcanlogin: false, member_of: [] },
    ]);
  }, 180_000);
});
