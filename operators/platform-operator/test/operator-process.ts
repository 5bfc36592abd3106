/**
 * The operator as a child process (src/main.ts, as a Deployment runs it)
 * against the local control plane: its identity and port are read from its
 * `operator started` log line; its logs go to a file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { kubeconfigPath } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface OperatorProcess {
  child: ChildProcess;
  /** The identity it holds the Lease under (`<name>-<random>`). */
  identity: string;
  /** Its /healthz, /metrics base URL. */
  url: string;
  /** Its log file. */
  logFile: string;
  /** `leader` from /healthz; undefined when it does not answer. */
  leads(): Promise<boolean | undefined>;
}

export interface SpawnOptions {
  /** Namespace of the Lease and the only one watched. */
  namespace: string;
  /** POD_NAME; undefined starts it without one (the host name is the name). */
  podName?: string;
  /** Directory for the log file. */
  logDir: string;
  /** Lease timings in ms (LEASE_DURATION_MS, RENEW_DEADLINE_MS, RETRY_PERIOD_MS). */
  timings: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
}

let spawned = 0;

/** Starts src/main.ts and resolves once it listens (informers synced, campaigning). */
export async function spawnOperator(options: SpawnOptions): Promise<OperatorProcess> {
  const { POD_NAME: _unset, ...env } = process.env;
  const logFile = join(options.logDir, `${options.podName ?? 'no-pod-name'}-${spawned++}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...env,
      ...(options.podName === undefined ? {} : { POD_NAME: options.podName }),
      KUBECONFIG: await kubeconfigPath(),
      POD_NAMESPACE: options.namespace,
      WATCH_NAMESPACE: options.namespace,
      PORT: '0',
      LEASE_DURATION_MS: String(options.timings.leaseDurationMs),
      RENEW_DEADLINE_MS: String(options.timings.renewDeadlineMs),
      RETRY_PERIOD_MS: String(options.timings.retryPeriodMs),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const started = await new Promise<{ identity: string; port: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; identity?: string; port?: number };
        if (entry.msg === 'operator started' && entry.identity && entry.port) resolve({ identity: entry.identity, port: entry.port });
      } catch {
        // not a log line
      }
    });
    child.once('exit', (code, signal) => reject(new Error(`operator exited (${code ?? signal}) before it started; log ${logFile}`)));
  });
  const url = `http://127.0.0.1:${started.port}`;
  return {
    child,
    identity: started.identity,
    url,
    logFile,
    async leads() {
      try {
        const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) });
        return ((await res.json()) as { leader: boolean }).leader;
      } catch {
        return undefined;
      }
    },
  };
}
