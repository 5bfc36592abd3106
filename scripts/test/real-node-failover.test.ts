/**
 * The platform-operator's in-cluster failover on the real node (issue 27): a PostgresCluster of two
 * instances (the `postgres` image built here from Debian's packages, the operator's StatefulSet and
 * entrypoint), its primary's Pod deleted under write load through the `-rw` Service; the operator fences it,
 * promotes the replica and routes `-rw` to it. Reported: RTO (delete → first acknowledged write on the new
 * primary) and acknowledged writes lost, which must be none.
 *
 * Skipped unless BULWARK_REAL_NODE=1; needs the node, the platform (its operator Pod) and the postgres image
 * (`npm run cluster -- up --real-node`, `images`, `platform`). The cluster is removed at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { waitFor } from '@bulwark/test-support';
import { ensureCluster } from '../cluster/index.ts';
import { kubectl } from '../cluster/kubectl.ts';
import { ensureRealNode } from '../cluster/node.ts';
import { ensurePlatform, platformNamespace } from '../cluster/platform.ts';
import { ensurePgCluster, pgNamespace, podRoles, removePgCluster, waitForPrimary, type PgClusterHandle } from '../cluster/postgres-cluster.ts';

const suite = process.env.BULWARK_REAL_NODE === '1' ? describe : describe.skip;
const CLUSTER = 'pg-failover';
let handle: PgClusterHandle;
let rwHost: string;

interface OperatorLine {
  time?: number;
  msg?: string;
  key?: string;
  outcome?: string;
  startedAt?: string;
  stepsMs?: Record<string, number>;
}

/**
 * Where the RTO went, in ms after the delete (same host clock: the operator Pod runs on this machine): the
 * first failed probe of the primary and the failover's start (detect), the end of each failover step
 * (from the operator's `failover attempt timed` line) and the first acknowledged write.
 */
function failoverPhases(deletedAt: number, firstAfter: number): Record<string, number> {
  const logs = kubectl(['logs', '-n', platformNamespace, '-l', 'app.kubernetes.io/name=platform-operator', '--tail=-1', '--prefix=false', '--since=10m']);
  const lines = logs
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as OperatorLine)
    .filter((l) => (l.time ?? 0) >= deletedAt - 1_000 && l.key === `${pgNamespace}/${CLUSTER}`);
  const phases: Record<string, number> = {};
  const suspect = lines.find((l) => l.msg === 'primary probe failed');
  if (suspect?.time) phases.firstFailedProbe = suspect.time - deletedAt;
  const timed = lines.find((l) => l.msg === 'failover attempt timed' && l.outcome === 'completed');
  if (timed?.startedAt) {
    const start = Date.parse(timed.startedAt);
    phases.failoverStart = start - deletedAt;
    for (const [step, ms] of Object.entries(timed.stepsMs ?? {})) phases[step] = start + ms - deletedAt;
  }
  phases.firstAcknowledgedWrite = firstAfter - deletedAt;
  return phases;
}

suite('the operator fails a PostgresCluster over on the real node', () => {
  beforeAll(async () => {
    await ensureCluster();
    await ensureRealNode();
    await ensurePlatform();
    const started = Date.now();
    // Synchronous: a commit is acknowledged once the standby has it, so a failover may lose none (async lost 1 of 54,061 here).
    handle = await ensurePgCluster(CLUSTER, { replication: process.env.BULWARK_PG_REPLICATION === 'async' ? 'async' : 'sync' });
    rwHost = JSON.parse(kubectl(['get', 'service', '-n', handle.namespace, `${CLUSTER}-rw`, '-o', 'json'])).spec.clusterIP as string;
    console.log(`real node failover: PostgresCluster of 2 Ready with a primary in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 20 * 60_000);

  afterAll(() => {
    if (process.env.BULWARK_KEEP_PG !== '1') removePgCluster(CLUSTER);
  }, 180_000);

  it('when the primary Pod is deleted under write load, then a replica is promoted, -rw answers again and no acknowledged write is lost', async () => {
    const connect = async (): Promise<pg.Client> => {
      const client = new pg.Client({ host: rwHost, port: 5432, user: 'postgres', password: handle.password, database: 'postgres', connectionTimeoutMillis: 1_000, query_timeout: 2_000 });
      client.on('error', () => undefined);
      await client.connect();
      return client;
    };
    const setup = await connect();
    await setup.query('CREATE TABLE IF NOT EXISTS acked (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())');
    await setup.end();

    const acked: number[] = [];
    const failedAt: number[] = [];
    let deletedAt = 0;
    let firstAfter = 0;
    let stop = false;
    const writer = (async () => {
      let client: pg.Client | undefined;
      for (let id = 1; !stop; id++) {
        try {
          client ??= await connect();
          await client.query('INSERT INTO acked (id) VALUES ($1)', [id]);
          acked.push(id);
          if (deletedAt && failedAt.some((t) => t >= deletedAt) && !firstAfter) firstAfter = Date.now();
        } catch {
          failedAt.push(Date.now());
          await client?.end().catch(() => undefined);
          client = undefined;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      await client?.end().catch(() => undefined);
    })();

    await waitFor(() => Promise.resolve(acked.length >= 200), 'writes acknowledged before the fault', 60_000, 100);
    const oldPrimary = Object.entries(podRoles(CLUSTER)).find(([, role]) => role === 'primary')![0];
    deletedAt = Date.now();
    // The Pod's own grace (60 s) by default: the StatefulSet's preStop stops postgres fast (without it, postgres as
    // PID 1 took SIGTERM as a smart shutdown waiting for the writer's session until SIGKILL). BULWARK_PG_GRACE=1
    // shows the operator's share.
    const grace = process.env.BULWARK_PG_GRACE ? [`--grace-period=${process.env.BULWARK_PG_GRACE}`] : [];
    kubectl(['delete', 'pod', '-n', handle.namespace, oldPrimary, '--wait=false', ...grace]);
    await waitFor(() => Promise.resolve(firstAfter > 0), 'a write acknowledged after the outage', 180_000, 100);
    const newPrimary = await waitForPrimary(CLUSTER, 180_000);
    const atRecovery = acked.length;
    await waitFor(() => Promise.resolve(acked.length >= atRecovery + 100), 'writes flowing on the new primary', 60_000, 100);
    stop = true;
    await writer;

    const check = await connect();
    const present = new Set((await check.query<{ id: string }>('SELECT id FROM acked')).rows.map((r) => Number(r.id)));
    await check.end();
    const lost = acked.filter((id) => !present.has(id));
    const status = JSON.parse(kubectl(['get', 'postgrescluster', '-n', handle.namespace, CLUSTER, '-o', 'json'])).status as { lastFailover?: { from: string; to: string; fencedAt: string; promotedAt: string } };
    console.log(
      `real node failover: primary ${oldPrimary} deleted; ${status.lastFailover ? `operator failed over ${status.lastFailover.from} → ${status.lastFailover.to}` : `primary now ${newPrimary} (no failover recorded)`}; ` +
        `RTO (delete → first acknowledged write after the outage) ${((firstAfter - deletedAt) / 1000).toFixed(2)} s; ${failedAt.filter((t) => t >= deletedAt).length} failed attempts; ${acked.length} writes acknowledged, ${lost.length} lost`,
    );
    console.log(`real node failover, phases (ms after the delete): ${JSON.stringify(failoverPhases(deletedAt, firstAfter))}`);
    expect(lost).toEqual([]);
    expect(newPrimary).not.toBe('');
  }, 10 * 60_000);
});
