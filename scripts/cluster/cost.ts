/**
 * What the platform costs on the real node (`npm run cluster -- cost`, issue 27): CPU and RSS of every
 * platform Pod, read from its pod cgroup on this host (cgroup v1, the kubelet's cgroupfs driver:
 * `cpuacct.usage` and `memory.stat`'s total_rss under kubepods[/<qos>]/pod<uid>), once at idle and once
 * under load, set beside what `npm run budget` (scripts/resource-budget.ts) estimates for the chart
 * in the kind profile and the requests and limits the Pod runs with here.
 *
 * CPU is the cgroup's usage over the window (exact, not the kubelet's 10 s housekeeping samples);
 * RSS is the mean of samples taken every second. The load is the journey's traffic after its
 * registration: the demo customer (one login: the gateway allows 10 a minute per IP) searches,
 * reads the product, creates an order and checks it out (orders' saga through payments' PSP
 * simulator, inventory and notifications) in `concurrency` loops. The gateway's per-user bucket
 * (120 a minute) bounds what one customer sends: a 429 waits a second and is counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { call } from '@bulwark/test-support';
import { platformUrls } from '../infra/services.ts';
import { JOURNEY_PRODUCT, seedDemo, type PlatformUrls } from '../journey.ts';
import { computeBudget, type Amount } from '../resource-budget.ts';
import { kubectl } from './kubectl.ts';
import { platformNamespace } from './platform.ts';

const cgroupRoot = '/sys/fs/cgroup';

interface PodInfo {
  name: string;
  uid: string;
  chart: string;
  qos: string;
  requests: Amount;
  limits: Amount;
}

export interface Usage {
  /** Mean CPU over the window, millicores. */
  cpuMillis: number;
  /** Mean RSS, bytes. */
  rssBytes: number;
}

export interface PodCost extends PodInfo {
  idle: Usage;
  load: Usage;
  /** `npm run budget`'s requests for the chart in the kind profile (all its replicas, sidecars included); undefined for a chart it does not count. */
  budget?: Amount;
}

export interface CostReport {
  pods: PodCost[];
  idleSeconds: number;
  loadSeconds: number;
  /** Checkouts completed during the load window, failed ones, gateway requests sent and those answered 429. */
  checkouts: number;
  failures: number;
  requests: number;
  limited: number;
}

const millis = (q: string | undefined): number => (!q ? 0 : q.endsWith('m') ? Number(q.slice(0, -1)) : Number(q) * 1000);
const UNITS: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
const bytes = (q: string | undefined): number => {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q ?? '0');
  return m ? Number(m[1]) * (UNITS[m[2]!] ?? 1) : 0;
};

function platformPods(): PodInfo[] {
  type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };
  const list = JSON.parse(kubectl(['get', 'pods', '-n', platformNamespace, '-o', 'json'])) as {
    items: { metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string }; spec: { containers: { resources?: Resources }[] }; status: { qosClass?: string; phase?: string } }[];
  };
  return list.items
    .filter((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running')
    .map((p) => {
      const sum = (key: 'requests' | 'limits'): Amount => ({
        cpuMillis: p.spec.containers.reduce((t, c) => t + millis(c.resources?.[key]?.cpu), 0),
        memoryBytes: p.spec.containers.reduce((t, c) => t + bytes(c.resources?.[key]?.memory), 0),
      });
      return { name: p.metadata.name, uid: p.metadata.uid, chart: p.metadata.labels?.['app.kubernetes.io/name'] ?? p.metadata.name, qos: p.status.qosClass ?? 'BestEffort', requests: sum('requests'), limits: sum('limits') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The pod's cgroup directory under one controller (cgroupfs: kubepods/<qos>/pod<uid>, Guaranteed directly under kubepods). */
function podCgroup(controller: string, pod: PodInfo): string {
  const qos = pod.qos === 'Guaranteed' ? '' : pod.qos.toLowerCase();
  const dir = path.join(cgroupRoot, controller, 'kubepods', qos, `pod${pod.uid}`);
  if (!fs.existsSync(dir)) throw new Error(`no cgroup ${dir} for Pod ${pod.name}: is this the real node's host (cgroup v1, cgroupfs)?`);
  return dir;
}

const cpuNanos = (pod: PodInfo): number => Number(fs.readFileSync(path.join(podCgroup('cpuacct', pod), 'cpuacct.usage'), 'utf8').trim());
const rss = (pod: PodInfo): number => Number(/^total_rss (\d+)$/m.exec(fs.readFileSync(path.join(podCgroup('memory', pod), 'memory.stat'), 'utf8'))?.[1] ?? 0);

/** CPU of each Pod over `ms` and its RSS sampled every second. */
async function measure(pods: PodInfo[], ms: number): Promise<Map<string, Usage>> {
  const startCpu = new Map(pods.map((p) => [p.name, cpuNanos(p)]));
  const rssSum = new Map(pods.map((p) => [p.name, 0]));
  const started = process.hrtime.bigint();
  let samples = 0;
  while (Number(process.hrtime.bigint() - started) / 1e6 < ms) {
    for (const p of pods) rssSum.set(p.name, rssSum.get(p.name)! + rss(p));
    samples++;
    await sleep(1_000);
  }
  const elapsedNs = Number(process.hrtime.bigint() - started);
  return new Map(pods.map((p) => [p.name, { cpuMillis: ((cpuNanos(p) - startCpu.get(p.name)!) / elapsedNs) * 1000, rssBytes: rssSum.get(p.name)! / samples }]));
}

interface Tally {
  checkouts: number;
  failures: number;
  requests: number;
  /** Answers 429: the gateway's per-user and per-IP buckets bound what one client can send. */
  limited: number;
}

/** One loop of the journey's traffic after registration until `until`; counts requests and checkouts that ended. */
async function checkoutLoop(urls: PlatformUrls, token: string, sku: string, until: number, tally: Tally): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<unknown> => {
    for (;;) {
      tally.requests++;
      const r = await call(urls.gateway, method, path, body, { ...auth, ...headers });
      if (r.status !== 429) return r.body;
      tally.limited++;
      if (Date.now() > until + 30_000) throw new Error('rate limited past the window');
      await sleep(1_000);
    }
  };
  const me = (await send('GET', '/v1/me')) as { id: string };
  while (Date.now() < until) {
    try {
      const found = (await send('GET', `/v1/products/search?q=${encodeURIComponent(JOURNEY_PRODUCT.query)}`)) as { items?: { id: string }[] };
      const product = found.items?.[0];
      if (product) await send('GET', `/v1/products/${product.id}`);
      const orderId = ((await send('POST', '/v1/orders', { customerId: me.id })) as { order: { orderId: string } }).order.orderId;
      await send('POST', `/v1/orders/${orderId}/items`, { sku, quantity: 1, unitPriceCents: 500 });
      await send('PUT', `/v1/orders/${orderId}/address`, { address: { line1: '1 Main St', city: 'Lyon', postalCode: '69001', country: 'FR' } });
      await send('POST', `/v1/orders/${orderId}/checkout`, {}, { 'idempotency-key': randomUUID() });
      for (;;) {
        const status = ((await send('GET', `/v1/orders/${orderId}/checkout`)) as { status?: string }).status;
        if (status === 'completed') tally.checkouts++;
        if (status === 'failed') tally.failures++;
        if (status === 'completed' || status === 'failed' || Date.now() > until + 30_000) break;
        await sleep(500);
      }
    } catch {
      tally.failures++;
      await sleep(500);
    }
  }
}

const serviceUrl = (name: string): string => {
  const ip = (JSON.parse(kubectl(['get', 'service', '-n', platformNamespace, name, '-o', 'json'])) as { spec: { clusterIP: string } }).spec.clusterIP;
  return `http://${ip}`;
};

/** Measures every platform Pod at idle for `idleMs`, then under `concurrency` checkout loops for `loadMs`. */
export async function measurePlatformCost(options: { idleMs?: number; loadMs?: number; concurrency?: number } = {}): Promise<CostReport> {
  const { idleMs = 30_000, loadMs = 60_000, concurrency = 4 } = options;
  const pods = platformPods();
  if (pods.length === 0) throw new Error(`no running Pod in ${platformNamespace}: npm run cluster -- platform`);
  const urls: PlatformUrls = { gateway: serviceUrl('gateway'), inventory: serviceUrl('inventory'), mail: platformUrls().mail };
  // Seeded before the idle window, so the seeding's own work is not counted as idle.
  const { customer } = await seedDemo(urls);
  const sku = `cost-${randomUUID().slice(0, 8)}`;
  await call(urls.inventory, 'PUT', `/v1/skus/${sku}`, { onHand: 1_000_000 });
  await sleep(5_000);
  const idle = await measure(pods, idleMs);
  const tally: Tally = { checkouts: 0, failures: 0, requests: 0, limited: 0 };
  const until = Date.now() + loadMs;
  const loops = Array.from({ length: concurrency }, () => checkoutLoop(urls, customer, sku, until, tally));
  const load = await measure(pods, loadMs);
  await Promise.all(loops);
  const budget = new Map(computeBudget().lines.filter((l) => l.source.startsWith('charts/')).map((l) => [l.source.slice('charts/'.length), l.requests]));
  return {
    pods: pods.map((p) => ({ ...p, idle: idle.get(p.name)!, load: load.get(p.name)!, budget: budget.get(p.chart) })),
    idleSeconds: idleMs / 1000,
    loadSeconds: loadMs / 1000,
    ...tally,
  };
}

const cpu = (m: number): string => `${m.toFixed(0)}m`;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} Mi`;

/** The report as a Markdown table (docs/PERFORMANCE.md takes it as printed). */
export function formatCost(report: CostReport): string {
  const rows = [['Pod', 'idle CPU', 'idle RSS', 'load CPU', 'load RSS', 'requests here (cpu / mem)', 'limits here', '`npm run budget` (kind, chart)']];
  const total = { idle: { cpuMillis: 0, rssBytes: 0 }, load: { cpuMillis: 0, rssBytes: 0 }, requests: { cpuMillis: 0, memoryBytes: 0 }, budget: { cpuMillis: 0, memoryBytes: 0 } };
  for (const p of report.pods) {
    rows.push([
      p.chart,
      cpu(p.idle.cpuMillis),
      mib(p.idle.rssBytes),
      cpu(p.load.cpuMillis),
      mib(p.load.rssBytes),
      `${cpu(p.requests.cpuMillis)} / ${mib(p.requests.memoryBytes)}`,
      `${cpu(p.limits.cpuMillis)} / ${mib(p.limits.memoryBytes)}`,
      p.budget ? `${cpu(p.budget.cpuMillis)} / ${mib(p.budget.memoryBytes)}` : 'not counted',
    ]);
    for (const k of ['idle', 'load'] as const) {
      total[k].cpuMillis += p[k].cpuMillis;
      total[k].rssBytes += p[k].rssBytes;
    }
    total.requests.cpuMillis += p.requests.cpuMillis;
    total.requests.memoryBytes += p.requests.memoryBytes;
    total.budget.cpuMillis += p.budget?.cpuMillis ?? 0;
    total.budget.memoryBytes += p.budget?.memoryBytes ?? 0;
  }
  rows.push([
    '**total**',
    cpu(total.idle.cpuMillis),
    mib(total.idle.rssBytes),
    cpu(total.load.cpuMillis),
    mib(total.load.rssBytes),
    `${cpu(total.requests.cpuMillis)} / ${mib(total.requests.memoryBytes)}`,
    '',
    `${cpu(total.budget.cpuMillis)} / ${mib(total.budget.memoryBytes)}`,
  ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(rows[0]!),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(1).map(line),
    '',
    `Idle: ${report.idleSeconds} s. Load: ${report.loadSeconds} s, ${report.checkouts} checkouts completed (${(report.checkouts / report.loadSeconds).toFixed(1)}/s), ${report.failures} failed or errored; ${report.requests} gateway requests (${(report.requests / report.loadSeconds).toFixed(1)}/s), ${report.limited} of them answered 429.`,
  ].join('\n');
}
