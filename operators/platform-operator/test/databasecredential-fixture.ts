/**
 * What the DatabaseCredential tests share: a namespace with the admin
 * Secret (the local superuser URL), a group role holding SELECT on a table
 * of ten rows, the resource, the kubelet's part (projecting the Secret's
 * credentials.json into a file, swapped atomically: there is no kubelet
 * here), and a load of loops that open a new connection for every query
 * through @bulwark/db's fileCredentials, counting failures.
 */
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
import { DATABASECREDENTIAL, type DatabaseCredential, ROTATE_ANNOTATION } from '../src/reconcilers/databasecredential.ts';
import type { DatabaseCredentialSpec } from '../src/reconcilers/databasecredential-plan.ts';
import { connect, createNamespace, deleteNamespace, installCrds } from './helpers.ts';

export async function admin(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: pgUrl() });
  await c.connect();
  try {
    return await c.query(sql, values);
  } finally {
    await c.end();
  }
}

export interface CredentialFixture {
  kc: KubeConfig;
  namespace: string;
  prefix: string;
  group: string;
  /** Creates the DatabaseCredential `catalog-db` writing Secret `catalog-db-credentials`. */
  create(spec?: Partial<DatabaseCredentialSpec>): Promise<void>;
  read(): Promise<DatabaseCredential>;
  requestRotation(value: string): Promise<void>;
  /** The Secret's credentials.json, parsed (undefined before the first write). */
  secret(): Promise<{ username: string; password: string } | undefined>;
  /** Starts projecting the Secret into a file and `loops` query loops on it. */
  startLoad(loops?: number): Promise<Load>;
  cleanup(): Promise<void>;
}

export interface Load {
  readonly ok: number;
  readonly failures: string[];
  /** The logins seen, consecutive repeats folded: [a, b, a, …]. */
  readonly users: string[];
  stop(): Promise<void>;
}

export async function setupCredentialFixture(): Promise<CredentialFixture> {
  const kc = await connect();
  await installCrds();
  const { kubeconfig, kubectl } = await ensureCluster({ crds: false });
  execFileSync(kubectl, ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Established', '--timeout=60s', 'crd/databasecredentials.bulwark.dev'], { stdio: 'pipe' });
  const namespace = await createNamespace(kc, 'dbcred');
  const prefix = `dbc_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
  const group = `${prefix}_grp`;
  const schema = `${prefix}_data`;
  const dir = mkdtempSync(join(tmpdir(), 'dbcred-'));
  const file = join(dir, 'credentials.json');
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  // What the service's migrations would do: its data, granted to the group role.
  await admin(`CREATE ROLE ${group} NOLOGIN; CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.items (n int); INSERT INTO ${schema}.items SELECT generate_series(1, 10);
               GRANT USAGE ON SCHEMA ${schema} TO ${group}; GRANT SELECT ON ${schema}.items TO ${group}`);
  await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'pg-admin' }, stringData: { url: pgUrl() } } });
  const ref = { group: DATABASECREDENTIAL.group, version: DATABASECREDENTIAL.version, plural: DATABASECREDENTIAL.plural, namespace, name: 'catalog-db' };
  const secret = async () => {
    const s = await core.readNamespacedSecret({ namespace, name: 'catalog-db-credentials' }).catch(() => undefined);
    const data = s?.data?.['credentials.json'];
    return data ? (JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { username: string; password: string }) : undefined;
  };
  return {
    kc,
    namespace,
    prefix,
    group,
    async create(spec = {}) {
      await custom.createNamespacedCustomObject({
        ...ref,
        body: {
          apiVersion: `${DATABASECREDENTIAL.group}/${DATABASECREDENTIAL.version}`,
          kind: DATABASECREDENTIAL.kind,
          metadata: { name: 'catalog-db' },
          spec: { role: prefix, groupRole: group, secretName: 'catalog-db-credentials', adminSecretRef: { name: 'pg-admin', key: 'url' }, rotationIntervalSeconds: 86_400, minFlipIntervalSeconds: 1, ...spec },
        },
      });
    },
    read: () => custom.getNamespacedCustomObject(ref) as Promise<DatabaseCredential>,
    async requestRotation(value) {
      await custom.patchNamespacedCustomObject({ ...ref, body: { metadata: { annotations: { [ROTATE_ANNOTATION]: value } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
    secret,
    async startLoad(loops = 4) {
      let last = '';
      const project = async () => {
        const s = await secret();
        const text = s ? JSON.stringify(s) : '';
        if (text && text !== last) {
          writeFileSync(`${file}.tmp`, text);
          renameSync(`${file}.tmp`, file);
          last = text;
        }
      };
      await project();
      let running = true;
      const projector = (async () => {
        while (running) {
          await project().catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const pool = createPool({ connectionString: pgUrl(), name: 'dbcred-load', max: loops * 2, credentials: fileCredentials(file), searchPath: [schema], registry: new Registry(), log: silent });
      const state = { ok: 0, failures: [] as string[], users: [] as string[] };
      const loop = async () => {
        while (running) {
          try {
            const client = await pool.connect();
            try {
              const { rows } = await client.query<{ u: string; n: number }>('SELECT current_user AS u, count(*)::int AS n FROM items');
              if (rows[0]!.n !== 10) state.failures.push(`count ${rows[0]!.n}`);
              if (state.users.at(-1) !== rows[0]!.u) state.users.push(rows[0]!.u);
              state.ok++;
            } finally {
              client.release(true); // a new connection (a new login) for every query
            }
          } catch (err) {
            state.failures.push(String(err));
          }
        }
      };
      const running_ = Array.from({ length: loops }, loop);
      return {
        get ok() {
          return state.ok;
        },
        failures: state.failures,
        users: state.users,
        async stop() {
          running = false;
          await Promise.all(running_);
          await projector;
          await pool.close();
        },
      };
    },
    async cleanup() {
      await deleteNamespace(kc, namespace);
      await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE '${prefix}%'`).catch(() => undefined);
      await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP ROLE IF EXISTS ${prefix}_a; DROP ROLE IF EXISTS ${prefix}_b; DROP ROLE IF EXISTS ${group}`).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
