/**
 * The operator as a child process (src/main.ts, as a Deployment runs it)
 * against the local control plane: its identity and port are read from its
 * `operator started` log line (stdout); its logs go to a file.
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
  /** Its JSON log lines (stdout) so far, in order. */
  lines: Array<Record<string, unknown>>;
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
  /** More environment (LOG_LEVEL, SHUTDOWN_TIMEOUT_MS). */
  env?: Record<string, string>;
}

let spawned = 0;

export interface LaunchedOperator {
  child: ChildProcess;
  logFile: string;
  /** Its JSON log lines (stdout) so far, in order. */
  lines: Array<Record<string, unknown>>;
  /** Resolves with the first line matching `predicate`; rejects if the process exits without one. */
  nextLine(predicate: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited and its stdout has closed (every line read). */
  exited: Promise<number | null>;
}

/** Starts src/main.ts without waiting for anything. */
export async function launchOperator(options: SpawnOptions): Promise<LaunchedOperator> {
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
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  const reader = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  reader.on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return; // not a log line
    }
    lines.push(line);
    for (const w of [...waiters]) if (w.predicate(line)) w.resolve(line);
  });
  const closed = new Promise<void>((resolve) => reader.once('close', resolve));
  const exited = Promise.all([new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))), closed]).then(([code]) => code);
  return {
    child,
    logFile,
    lines,
    exited,
    nextLine: (predicate) =>
      new Promise((resolve, reject) => {
        const found = lines.find(predicate);
        if (found) return resolve(found);
        waiters.push({ predicate, resolve });
        void exited.then((code) => {
          const line = lines.find(predicate);
          if (line) resolve(line);
          else reject(new Error(`operator exited (${code}) without the awaited line; log ${logFile}`));
        });
      }),
  };
}

/** Starts src/main.ts and resolves once it listens (informers synced, campaigning). */
export async function spawnOperator(options: SpawnOptions): Promise<OperatorProcess> {
  const launched = await launchOperator(options);
  const { child, logFile, lines } = launched;
  const entry = await launched.nextLine((l) => l.msg === 'operator started' && typeof l.identity === 'string' && typeof l.port === 'number');
  const started = { identity: entry.identity as string, port: entry.port as number };
  const url = `http://127.0.0.1:${started.port}`;
  return {
    child,
    identity: started.identity,
    url,
    logFile,
    lines,
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
