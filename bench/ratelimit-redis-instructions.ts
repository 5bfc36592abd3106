/**
 * What one rate-limit check costs Redis, in instructions executed by
 * redis-server under `valgrind --tool=callgrind`: a measure that does not move
 * with the load or the speed of a shared VM (docs/DECISIONS.md, "Instruction
 * counts as the bench's second measure"). The server-side half of the check is
 * the part the gateway bench cannot see in its own process, and on a 2-vCPU box
 * it shares a CPU with the load generator.
 *
 * A private redis-server runs under callgrind. The check script
 * (`check-policies-n`, 3 policies: sliding window, token bucket, fixed window,
 * limits far above the load so every call is admitted and writes) and the
 * same-run baseline `return 1`, called with the check's keys and ARGV, are
 * loaded with SCRIPT LOAD, as is `return 1` without arguments (what reading a
 * call and writing its reply cost; the difference to the baseline is what
 * Redis spends making KEYS (3) and ARGV (11)). Each is warmed with
 * BENCH_WARMUP_REQUESTS (1 000) calls, then the counters are zeroed
 * (`callgrind_control -z`), BENCH_REQUESTS (3 000) EVALSHA calls are sent by
 * `redis-benchmark -c 1`, and the counters are dumped (`callgrind_control -d`).
 * Printed per target: instructions per call, the difference to the baseline
 * (for the check: what its script body costs) and the ratio.
 * BENCH_BEFORE_ROOT=<tree> adds the check script of another checkout (its
 * packages/ratelimit/src/lua), so a change to the script is measured against
 * its predecessor in the same run. BENCH_PARTS=1 adds scripts that each do one
 * part of what the check does (its seven Redis commands, its reply, its state
 * tables, its string-to-number reads, its function definitions), so the check's
 * cost can be read as a sum of parts. BENCH_KEEP_DUMPS=1 keeps the dumps (one per
 * target, in order) and prints their directory, for `callgrind_annotate`.
 * Needs valgrind (Debian package), redis-server, redis-cli and redis-benchmark.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureRequirements } from '../scripts/infra/prereqs.ts';
import { loadScript } from '../packages/ratelimit/src/index.ts';
import { freePort } from '@bulwark/test-support';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3_000);
const WARMUP = Number(process.env.BENCH_WARMUP_REQUESTS ?? 1_000);
/** Every external command gets this long; a hang becomes an error, not a stuck bench. */
const COMMAND_TIMEOUT_MS = 120_000;

/** The check's keys and ARGV: clock from TIME, cost 1, then algorithm, limit, window (ms) per policy. */
const CHECK_ARGS = ['3', '{t}:a', '{t}:b', '{t}:c', '', '1', '2', '1000000000', '60000', '1', '1000000000', '60000', '3', '1000000000', '60000'];

/** Parts of the check, each alone (called with the check's keys and ARGV, so `return 1` is their baseline too). */
const PARTS: Record<string, string> = {
  'TIME and the time string': `local t = redis.call('TIME') local us = t[2] if #us < 6 then us = string.rep('0', 6 - #us) .. us end
    local now_s = t[1] .. string.sub(us, 1, 3) .. '.' .. string.sub(us, 4) return 1`,
  '6 hash commands': `redis.call('HMGET', '{p}:a', 'w', 'c', 'p') redis.call('HMGET', '{p}:b', 'tk', 'ts', 'x') redis.call('HMGET', '{p}:c', 'w', 'c')
    redis.call('HINCRBY', '{p}:a', 'c', '1') redis.call('HSET', '{p}:b', 'tk', '5', 'ts', '1733400000000.123') redis.call('HINCRBY', '{p}:c', 'c', '1') return 1`,
  '16 string-to-number reads': 'local x = 0 for i = 1, 16 do x = x + (ARGV[4] + 0) end return 1',
  '3 state tables of 12 fields': `for i = 1, 3 do local r = { idx = 1, used = 2, limit = 3, available = 4, allowed = true, fresh = false,
    rem0 = 0, count = 0, rem1 = 0, reset0 = 0, reset1 = 0, retry = 0 } end return 1`,
  '9 functions, 3 dispatch tables': `local function a() end local function b() end local function c() end local function d() end
    local function e() end local function f() end local function g() end local function h() end local function i() end
    local p = { ['1'] = a, ['2'] = b, ['3'] = c } local q = { ['1'] = d, ['2'] = e, ['3'] = f } local w = { ['1'] = g, ['2'] = h, ['3'] = i } return 1`,
  'reply of 13 integers': 'return { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }',
};

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS });
  if (r.error) throw new Error(`${cmd} failed to run: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')} … exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function requireTools(): void {
  ensureRequirements([
    { binary: 'valgrind', debianPackage: 'valgrind' },
    { binary: 'callgrind_control', debianPackage: 'valgrind' },
    { binary: 'redis-server', debianPackage: 'redis-server' },
    { binary: 'redis-cli', debianPackage: 'redis-tools' },
    { binary: 'redis-benchmark', debianPackage: 'redis-tools' },
  ]);
}

/** The `totals:` (or `summary:`) figure of one callgrind dump: instructions executed. */
function totalInstructions(dump: string): number {
  const m = /^(?:totals|summary):\s*(\d+)/m.exec(dump);
  if (!m) throw new Error('callgrind dump has no totals line');
  return Number(m[1]);
}

export default async function main(): Promise<void> {
  requireTools();
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-rl-cg-'));
  const port = String(await freePort());
  const server = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.out')}`, 'redis-server', '--port', port, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  server.stderr!.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const cli = (...args: string[]): string => run('redis-cli', ['-p', port, ...args]).trim();
  try {
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync('redis-cli', ['-p', port, 'PING'], { encoding: 'utf8', timeout: 5_000 });
      if (r.stdout.trim() === 'PONG') break;
      if (server.exitCode !== null || attempt >= 300) throw new Error(`redis-server under valgrind did not answer PING:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const empty = cli('SCRIPT', 'LOAD', 'return 1');
    const targets: { name: string; sha: string; args: string[] }[] = [
      { name: 'return 1, no args', sha: empty, args: ['0'] },
      { name: 'return 1', sha: empty, args: CHECK_ARGS },
    ];
    targets.push({ name: 'check, 3 policies', sha: cli('SCRIPT', 'LOAD', loadScript('check-policies-n').source), args: CHECK_ARGS });
    const before = process.env.BENCH_BEFORE_ROOT;
    if (before) {
      const lua = pathToFileURL(join(before, 'packages/ratelimit/src/lua/'));
      targets.push({ name: 'check, before', sha: cli('SCRIPT', 'LOAD', loadScript('check-policies-n', lua).source), args: CHECK_ARGS.map((a) => a.replace('{t}', '{b}')) });
    }
    if (process.env.BENCH_PARTS === '1') {
      for (const [name, source] of Object.entries(PARTS)) targets.push({ name: `part: ${name}`, sha: cli('SCRIPT', 'LOAD', source), args: CHECK_ARGS });
    }
    for (const t of targets) {
      if (!/^[0-9a-f]{40}$/.test(t.sha)) throw new Error(`SCRIPT LOAD for ${t.name} answered ${t.sha}`);
      const reply = cli('EVALSHA', t.sha, ...t.args);
      if (reply.length === 0) throw new Error(`${t.name} answered nothing`);
    }

    const perCall = new Map<string, number>();
    for (const t of targets) {
      const bench = (n: number): string => run('redis-benchmark', ['-p', port, '-c', '1', '-n', String(n), '-q', 'EVALSHA', t.sha, ...t.args]);
      bench(WARMUP);
      run('callgrind_control', ['-z', String(server.pid)]);
      const seen = new Set(readdirSync(dir));
      bench(REQUESTS);
      run('callgrind_control', ['-d', String(server.pid)]);
      const dumps = readdirSync(dir).filter((f) => !seen.has(f));
      if (dumps.length !== 1) throw new Error(`expected one new callgrind dump, found ${dumps.length}`);
      perCall.set(t.name, totalInstructions(readFileSync(join(dir, dumps[0]!), 'utf8')) / REQUESTS);
    }

    const base = perCall.get('return 1')!;
    console.log(`redis-server instructions per EVALSHA call (callgrind, ${REQUESTS} calls after ${WARMUP} warm-up, redis-benchmark -c 1);`);
    console.log(`baseline: \`return 1\` with the check's 3 keys and 11 ARGV`);
    console.log(`  ${'script'.padEnd(36)} ${'instr/call'.padStart(11)} ${'minus return 1'.padStart(15)} ${'× return 1'.padStart(11)}`);
    for (const [name, n] of perCall) {
      console.log(`  ${name.padEnd(36)} ${n.toFixed(0).padStart(11)} ${(n - base).toFixed(0).padStart(15)} ${(n / base).toFixed(2).padStart(11)}`);
    }
    const now = perCall.get('check, 3 policies')!;
    const then = perCall.get('check, before');
    if (then !== undefined) console.log(`  check after/before: ${(now / then).toFixed(3)}× (script alone: ${((now - base) / (then - base)).toFixed(3)}×)`);
  } finally {
    server.kill('SIGKILL');
    if (process.env.BENCH_KEEP_DUMPS === '1') console.log(`  callgrind dumps kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}
