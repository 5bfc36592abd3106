/**
 * Gateway cost in system calls per request, counted by `strace -f -c`: the
 * kernel side that `gateway-instructions` (user-space instructions under
 * callgrind) does not see. Each target of bench/gateway.ts (BENCH_SERVER
 * mode) is warmed with BENCH_WARMUP_REQUESTS (20 000) GETs over 10 keep-alive
 * connections; strace then attaches to all its threads for BENCH_REQUESTS
 * (20 000) more and is detached. Printed per target: system calls per
 * request in total and per call, and the total's ratio to `minimal` (the
 * ~30-line undici proxy) and to `direct` (the upstream).
 * The counts are what the process asked of the kernel, not time: strace
 * slows every call, so epoll_pwait (one per wake-up) is higher than without
 * it, since fewer requests are ready per wake-up; reads and writes per request
 * do not move with speed.
 * BENCH_TARGETS (default direct,minimal,proxy,full,full+lease).
 * Needs strace (Debian package) and redis-server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ensureRequirements } from '../scripts/infra/prereqs.ts';
import { drive, portOf, startTargetSurroundings } from './lib/gateway-fixtures.ts';
import { callsOf } from './lib/strace.ts';

const GATEWAY_BENCH = fileURLToPath(new URL('gateway.ts', import.meta.url));

/** Starts strace on every thread of `pid`; resolves once it reports them attached, with a stop that resolves after the summary is written. */
async function attach(pid: number, out: string): Promise<() => Promise<void>> {
  const strace = spawn('strace', ['-f', '-c', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    strace.once('exit', (code) => reject(new Error(`strace exited with ${code}`)));
    createInterface({ input: strace.stderr! }).on('line', (line) => {
      if (/attached/.test(line)) resolve();
    });
  });
  strace.removeAllListeners('exit');
  return () =>
    new Promise<void>((resolve) => {
      strace.once('exit', () => resolve());
      strace.kill('SIGINT');
    });
}

async function measure(target: string, env: Record<string, string>, warmup: number, requests: number, authorization: string | undefined, dir: string): Promise<Map<string, number>> {
  const child = spawn(process.execPath, ['--conditions=bulwark-source', GATEWAY_BENCH], {
    env: { ...process.env, ...env, BENCH_SERVER: target, BENCH_RATE_LIMIT_TIMEOUT_MS: '5000' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const port = await portOf(child, target);
    await drive(port, warmup, authorization);
    const out = join(dir, `${target}.strace`);
    const detach = await attach(child.pid!, out);
    await drive(port, requests, authorization);
    await detach();
    const perRequest = new Map<string, number>();
    for (const [name, n] of callsOf(readFileSync(out, 'utf8'))) perRequest.set(name, n / requests);
    return perRequest;
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
}

const total = (calls: Map<string, number>): number => [...calls.values()].reduce((a, b) => a + b, 0);

export default async function main(): Promise<void> {
  ensureRequirements([{ binary: 'strace', debianPackage: 'strace' }]);
  const warmup = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20_000);
  const requests = Number(process.env.BENCH_REQUESTS ?? 20_000);
  const targets = (process.env.BENCH_TARGETS ?? 'direct,minimal,proxy,full,full+lease').split(',');

  const dir = mkdtempSync(join(tmpdir(), 'bulwark-strace-'));
  const { env, authorization, stop } = await startTargetSurroundings(GATEWAY_BENCH);
  console.log(`gateway syscalls: strace -f -c, ${warmup} warm-up requests, ${requests} counted, 10 connections`);
  const results = new Map<string, Map<string, number>>();
  try {
    for (const target of targets) {
      const calls = await measure(target, env, warmup, requests, target.startsWith('full') ? authorization : undefined, dir);
      results.set(target, calls);
      const vs = (base: string): string => (results.has(base) ? `  ${(total(calls) / total(results.get(base)!)).toFixed(3)}× ${base}` : '');
      const each = [...calls].filter(([, n]) => n >= 0.005).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${n.toFixed(3)}`).join(', ');
      console.log(`${target.padEnd(11)} ${total(calls).toFixed(3).padStart(7)} syscalls/req${vs('minimal')}${vs('direct')}\n            ${each}`);
    }
  } finally {
    stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
