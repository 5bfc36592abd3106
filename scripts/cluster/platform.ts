/**
 * The platform from its charts on the real node (`npm run cluster -- platform`, issue 27): every
 * chart under charts/ installed with Helm in the kind profile plus the real-node profile
 * (charts/_lib/profiles/values-real-node.yaml and a chart's own values-real-node.yaml), every Pod
 * on the real kubelet and Ready through its own probes.
 *
 * The data services are the host's (`npm run infra`: PostgreSQL, Redis, Kafka, the SMTP sink):
 * no registry is reachable for their upstream images and building them here is a later step. Pods
 * reach them by the names the charts already use (postgres, redis, kafka, mail in bulwark-data)
 * through Services without selectors whose Endpoints are the node's address, where the relay of
 * scripts/cluster/relay.ts forwards to 127.0.0.1; Kafka's advertised 127.0.0.1 is rewritten in
 * each Pod by the CNI plugin of node-config.ts (loopbackPlugin).
 *
 * The database is `bulwark_node` on the host's server (not `npm run up`'s, so both can run), with
 * the runtime and reporting roles `npm run up` creates (ensureDbRoles); each service migrates its
 * own schema at start as the owner. Secrets are the env of each app's package.json, resolved by
 * the same resolveEnv as `npm run up` (the same generated secrets), except the addresses
 * (`{{url:…}}`), which the charts' config gives as in-cluster Service names.
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { DB_ROLES, DEV_ROLE_PASSWORD, ensureDbRoles, urlForRole } from '@bulwark/db';
import { ensureInfra, settings } from '../infra/index.ts';
import { run, waitFor } from '../infra/proc.ts';
import { discoverApps, resolveEnv } from '../infra/services.ts';
import { binPath } from './build.ts';
import { imageRef } from './images.ts';
import { kubectl } from './kubectl.ts';
import { importImages, nodeSettings as s } from './node.ts';
import { imageId } from './podman.ts';
import { clusterSettings, repoRoot } from './settings.ts';

export const platformNamespace = 'bulwark';
const dataNamespace = 'bulwark-data';
export const platformDatabase = 'bulwark_node';
const profiles = path.join(repoRoot, 'charts/_lib/profiles');

/** The data Services the charts name, each to the host server's port on the node's address. */
function dataServices(): string {
  const entries: [name: string, port: number, hostPort: number][] = [
    ['postgres', 5432, settings.postgres.port],
    ['redis', 6379, settings.redis.port],
    ['kafka', 9092, settings.kafka.port],
    ['mail', 1025, settings.mail.smtpPort],
  ];
  return entries
    .map(
      ([name, port, hostPort]) => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${dataNamespace}, labels: { app.kubernetes.io/part-of: bulwark, bulwark.dev/host-service: "true" } }
spec:
  ports: [{ name: tcp, port: ${port}, targetPort: ${hostPort} }]
---
apiVersion: v1
kind: Endpoints
metadata: { name: ${name}, namespace: ${dataNamespace}, labels: { app.kubernetes.io/part-of: bulwark } }
subsets:
  - addresses: [{ ip: ${s.ip} }]
    ports: [{ name: tcp, port: ${hostPort} }]
`,
    )
    .join('---\n')
    .concat(`---
# The API server has no endpoint reconciler (scripts/cluster/components.ts): in-cluster clients (the
# operator) reach it at the kubernetes Service (10.96.0.1:443, a SAN of its cert) through the relay.
apiVersion: v1
kind: Endpoints
metadata: { name: kubernetes, namespace: default }
subsets:
  - addresses: [{ ip: ${s.ip} }]
    ports: [{ name: https, port: ${clusterSettings.ports.apiserver} }]
`);
}

/** `url` pointing at the in-cluster postgres Service and the platform's database. */
function inCluster(url: string): string {
  const u = new URL(url);
  u.hostname = `postgres.${dataNamespace}.svc.cluster.local`;
  u.port = '5432';
  u.pathname = `/${platformDatabase}`;
  return u.toString();
}

async function ensureDatabase(ownerUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [platformDatabase]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${platformDatabase}`);
  } finally {
    await client.end();
  }
  const u = new URL(ownerUrl);
  u.pathname = `/${platformDatabase}`;
  await ensureDbRoles({ ownerUrl: u.toString(), password: DEV_ROLE_PASSWORD });
  return u.toString();
}

function secretManifest(name: string, data: Record<string, string>): string {
  // `data`, not `stringData`: apply removes a key that is gone only from the field it applied before.
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: platformNamespace }, type: 'Opaque', data: encoded });
}

/**
 * `<app>-secrets` (its package.json env, resolved for the cluster) and `<app>-db-owner` for each app
 * installed (`charts`) and its companions; an app left out is not resolved (its env may name
 * variables the host's infra does not have yet).
 */
function secretsManifest(ownerUrl: string, charts: string[]): string {
  const apps = discoverApps().filter((a) => charts.includes(a.name));
  const vars = { BULWARK_PG_RUNTIME_URL: inCluster(urlForRole(ownerUrl, DB_ROLES.runtime, DEV_ROLE_PASSWORD)) };
  const docs: string[] = [];
  for (const app of apps) {
    for (const a of [app, ...(app.companions ?? [])]) {
      // Addresses ({{url:…}}) are the chart's config: it names the in-cluster Services (and routes only to charts that exist).
      const declared = Object.fromEntries(Object.entries(a.env ?? {}).filter(([, v]) => !v.includes('{{url:')));
      const env = resolveEnv(declared, undefined, {}, vars);
      docs.push(secretManifest(`${a.name}-secrets`, env));
      if (env.DATABASE_URL) docs.push(secretManifest(`${a.name}-db-owner`, { MIGRATION_DATABASE_URL: inCluster(ownerUrl) }));
    }
  }
  return docs.join('\n---\n');
}

/** Charts to install: every charts/<name> with a Chart.yaml that is not a library. */
export function platformCharts(): string[] {
  const dir = path.join(repoRoot, 'charts');
  return fs
    .readdirSync(dir)
    .filter((name) => fs.existsSync(path.join(dir, name, 'Chart.yaml')) && !/^type:\s*library/m.test(fs.readFileSync(path.join(dir, name, 'Chart.yaml'), 'utf8')))
    .sort();
}

/**
 * `helm upgrade --install` of one chart in the real-node profile; `extraValues` (files, after the
 * profile's) and `set` (`key=value`) layer on top, e.g. the canary of scripts/cluster/rollouts.ts.
 */
export function helmInstall(chart: string, extraValues: string[] = [], set: string[] = [], flags: string[] = []): void {
  const dir = path.join(repoRoot, 'charts', chart);
  const values = [path.join(profiles, 'values-kind.yaml'), path.join(dir, 'values-kind.yaml'), path.join(profiles, 'values-real-node.yaml'), path.join(dir, 'values-real-node.yaml')].filter((f) => fs.existsSync(f));
  const helm = binPath('helm');
  run(helm, ['dependency', 'build', dir, '--skip-refresh']);
  run(helm, ['upgrade', '--install', chart, dir, '--namespace', platformNamespace, `--kubeconfig=${clusterSettings.kubeconfig}`, ...[...values, ...extraValues].flatMap((f) => ['-f', f]), ...set.flatMap((kv) => ['--set-string', kv]), ...flags]);
}

interface PodList {
  items: { metadata: { name: string }; spec: { nodeName?: string }; status: { conditions?: { type: string; status: string }[] } }[];
}

/** Names of the platform's Pods that are not Ready yet (all of them when none exist). */
export function unreadyPods(): string[] {
  const pods = JSON.parse(kubectl(['get', 'pods', '-n', platformNamespace, '-o', 'json'])) as PodList;
  if (pods.items.length === 0) return ['(no pods yet)'];
  return pods.items.filter((p) => !p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.metadata.name);
}

/**
 * Installs (or upgrades) the platform on the running real node and waits until every Pod is Ready.
 * Call after ensureCluster() and ensureRealNode(); the images must be built (`npm run cluster -- images`).
 */
export async function ensurePlatform(timeoutMs = 10 * 60_000): Promise<void> {
  const charts = await preparePlatform();
  importImages(charts.map(imageRef));
  // A rebuilt image keeps its tag (`:dev`): the image id in the Pod template rolls the Pods onto it. Helm 4 applies
  // server-side: --force-conflicts takes back the fields another manager wrote (`tilt ci -f Tiltfile.real-node`).
  for (const chart of charts) helmInstall(chart, [], [`podAnnotations.bulwark\\.dev/image-id=${imageId(imageRef(chart)) ?? ''}`], ['--force-conflicts']);
  let waiting: string[] = [];
  await waitFor(
    'every platform Pod Ready on the real node',
    () => Promise.resolve((waiting = unreadyPods()).length === 0),
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; not Ready: ${waiting.join(', ')}`);
  });
}

/**
 * Everything the charts need but their own objects: the host's data services and the database, the
 * namespaces, the data Services of bulwark-data and the Secrets of the charts whose image is built.
 * Returns those charts. `ensurePlatform` installs them next; Tilt's real-node file
 * (Tiltfile.real-node) runs this as `npm run cluster -- platform --prepare` and deploys them itself.
 */
export async function preparePlatform(): Promise<string[]> {
  const infra = await ensureInfra(['postgres', 'redis', 'kafka', 'mail']);
  const ownerUrl = await ensureDatabase(infra.BULWARK_PG_URL ?? '');
  // One image per chart (a chart's further controllers run its image: the PSP simulator payments').
  // A chart whose image was never built here (a service still being added) is left out, and said so.
  const charts = platformCharts().filter((chart) => {
    const built = imageId(imageRef(chart)) !== undefined;
    if (!built) process.stderr.write(`platform: ${chart} left out: no image ${imageRef(chart)} (npm run cluster -- images ${chart})\n`);
    return built;
  });
  const file = path.join(s.dir, 'platform.yaml');
  fs.writeFileSync(file, `${dataServices()}---\n${secretsManifest(ownerUrl, charts)}\n`, { mode: 0o600 });
  kubectl(['apply', '-f', path.join(repoRoot, 'manifests/namespaces.yaml')]);
  kubectl(['apply', '-f', file]);
  return charts;
}

/** Removes the platform's releases, Secrets and data Services (the database stays). */
export function removePlatform(): void {
  for (const chart of platformCharts()) {
    try {
      run(binPath('helm'), ['uninstall', chart, '--namespace', platformNamespace, `--kubeconfig=${clusterSettings.kubeconfig}`, '--ignore-not-found']);
    } catch {
      // already gone
    }
  }
  const file = path.join(s.dir, 'platform.yaml');
  if (fs.existsSync(file)) kubectl(['delete', '--ignore-not-found', '-f', file]);
}
