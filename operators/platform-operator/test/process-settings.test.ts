/**
 * The operator process (src/main.ts) honours the settings its chart passes, as
 * every service does through the service kit: LOG_LEVEL sets which lines are
 * written, SHUTDOWN_TIMEOUT_MS bounds how long a stop may take.
 */
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { KubeConfig } from '@kubernetes/client-node';
import { freePort, waitFor } from '@bulwark/test-support';
import { CLUSTER_START_MS, connect, createNamespace, deleteNamespace, installCrds } from './helpers.ts';
import { type LaunchedOperator, launchOperator } from './operator-process.ts';

const timings = { leaseDurationMs: 5_000, renewDeadlineMs: 4_000, retryPeriodMs: 1_000 };
const logDir = mkdtempSync(join(tmpdir(), 'operator-settings-'));
const levelOf = (line: Record<string, unknown>): unknown => line.level;

let kc: KubeConfig | undefined;
let namespace: string | undefined;
const launched: LaunchedOperator[] = [];

beforeAll(async () => {
  kc = await connect();
  await installCrds();
  namespace = await createNamespace(kc, 'opsettings');
}, CLUSTER_START_MS);

afterEach(async () => {
  for (const op of launched.splice(0)) {
    if (op.child.exitCode === null && op.child.signalCode === null) {
      op.child.kill('SIGKILL');
      await once(op.child, 'exit');
    }
  }
});

afterAll(() => deleteNamespace(kc, namespace));

async function launch(env: Record<string, string>): Promise<LaunchedOperator> {
  const op = await launchOperator({ namespace: namespace!, podName: 'settings', logDir, timings, env });
  launched.push(op);
  return op;
}

describe('operator process settings', () => {
  it('when LOG_LEVEL is debug, then debug lines are written; at the default level they are not', async () => {
    const debug = await launch({ LOG_LEVEL: 'debug' });
    await debug.nextLine((l) => l.msg === 'operator started');
    expect(debug.lines.find((l) => l.msg === 'operator starting')).toEqual(expect.objectContaining({ level: 'debug', service: 'platform-operator' }));

    const info = await launch({});
    // 'operator starting' is written before 'operator started' on the same stream: once the later line is read, the earlier would have been.
    await info.nextLine((l) => l.msg === 'operator started');
    expect(info.lines.filter((l) => l.level === 'debug')).toEqual([]);
  });

  it('when LOG_LEVEL is warn, then a start and a clean stop write no info or debug line', async () => {
    const port = await freePort();
    const op = await launch({ LOG_LEVEL: 'warn', PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 'the operator is ready');
    op.child.kill('SIGTERM');
    // exited resolves after stdout closed: every line the process wrote has been read.
    expect(await op.exited).toBe(0);
    expect(op.lines.map(levelOf).filter((level) => level === 'info' || level === 'debug')).toEqual([]);
  });

  describe('when the API server accepts connections and never answers', () => {
    let hole: Server;
    const sockets = new Set<Socket>();
    let kubeconfig: string;

    beforeAll(async () => {
      hole = createServer((socket) => void sockets.add(socket.on('error', () => undefined)));
      await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
      const { port } = hole.address() as { port: number };
      kubeconfig = join(logDir, 'unanswering-kubeconfig.yaml');
      writeFileSync(
        kubeconfig,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'hole', cluster: { server: `https://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'nobody', user: { token: 'unused' } }],
          contexts: [{ name: 'hole', context: { cluster: 'hole', user: 'nobody' } }],
          'current-context': 'hole',
        }),
      );
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => hole.close(() => resolve()));
    });

    it('then SIGTERM ends the process with exit 1 once SHUTDOWN_TIMEOUT_MS has passed, saying so', async () => {
      const op = await launch({ KUBECONFIG: kubeconfig, LOG_LEVEL: 'debug', SHUTDOWN_TIMEOUT_MS: '1000' });
      await op.nextLine((l) => l.msg === 'operator starting');
      await waitFor(() => sockets.size > 0, 'the operator connects to the API server');
      op.child.kill('SIGTERM');
      expect(await op.exited).toBe(1);
      expect(op.lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['signal received: shutting down', 'shutdown deadline passed: exiting']));
      expect(op.lines.find((l) => l.msg === 'shutdown deadline passed: exiting')).toEqual(expect.objectContaining({ deadlineMs: 1000 }));
    });
  });
});
