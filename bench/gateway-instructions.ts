/**
 * Gateway cost in user-space instructions per request, under
 * `valgrind --tool=callgrind`: a measure that does not move with the load or
 * the speed of a shared VM (see docs/DECISIONS.md, "Instruction counts as the
 * bench's second measure"). Each target of bench/gateway.ts (BENCH_SERVER
 * mode) runs under callgrind with instrumentation off; it is warmed with
 * BENCH_WARMUP_REQUESTS (20 000) GETs over 10 keep-alive connections, then
 * instrumentation is switched on for BENCH_REQUESTS (4 000) and the counts
 * are dumped. Printed per target: instructions per request, the same without
 * major-GC functions (a major GC inside the window adds 3–20%), the same
 * without major GC nor V8's optimizing compilers (TurboFan, Maglev: after
 * 20 000 requests they still tier up late functions, 15–30k instructions per
 * request that fall off as the process ages and vary run to run), and the
 * ratios of that last figure to `minimal` (the ~30-line undici proxy) and to
 * `direct` (the upstream).
 * Kernel time (syscalls, loopback TCP) is not counted.
 * BENCH_TARGETS (default direct,minimal,proxy,full,full+lease; `peer`, the fastify gateway, too),
 * BENCH_BEFORE_ROOT (adds proxy-before and full-before from that tree, or only
 * the before targets BENCH_TARGETS names),
 * BENCH_PERF_MAP=1 (node --perf-basic-prof, to name JIT code in the dump).
 * Needs valgrind (Debian package) and redis-server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureRequirements } from '../scripts/infra/prereqs.ts';
import { drive, portOf, startTargetSurroundings } from './lib/gateway-fixtures.ts';

const GATEWAY_BENCH = fileURLToPath(new URL('gateway.ts', import.meta.url));
/** V8's optimizing compilers (callgrind counts their background threads too). */
const JIT_COMPILER = /v8::internal::compiler::|turboshaft|maglev|OptimizingCompileDispatcher|RegisterAllocat|InstructionSelector|CodeGenerator|Assembler|PipelineImpl|Zone::|v8::internal::Compiler::/i;
const MAJOR_GC = /Marking|Sweep|MarkCompact|IterateObjectCache|Evacuat(?!eInPlaceInternalizable)|RelocIterator|NeedsResetDueToFlushedBytecode|StringTableCleaner|Compactor|MinorMS|PointersUpdating/i;

interface Counts {
  all: number;
  noMajorGc: number;
  /** Without major GC nor the optimizing compilers. */
  steady: number;
}

/** Instructions in a callgrind dump: all, without major-GC functions, and also without the JIT compilers (from callgrind_annotate). */
function countsOf(file: string): Counts {
  const out = spawnSync('callgrind_annotate', ['--threshold=100', file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }).stdout;
  let all = 0;
  let gc = 0;
  let jit = 0;
  for (const line of out.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)$/.exec(line);
    if (!m || line.includes('PROGRAM TOTALS')) continue;
    const ir = Number(m[1]!.replaceAll(',', ''));
    all += ir;
    if (MAJOR_GC.test(m[2]!)) gc += ir;
    else if (JIT_COMPILER.test(m[2]!)) jit += ir;
  }
  return { all, noMajorGc: all - gc, steady: all - gc - jit };
}

async function measure(target: string, env: Record<string, string>, warmup: number, requests: number, authorization: string | undefined): Promise<Counts> {
  const out = join(tmpdir(), `bulwark-callgrind-${target}-${process.pid}.out`);
  const nodeArgs = ['--conditions=bulwark-source', ...(process.env.BENCH_PERF_MAP === '1' ? ['--perf-basic-prof'] : []), GATEWAY_BENCH];
  const child = spawn('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', '--instr-atstart=no', `--callgrind-out-file=${out}`, process.execPath, ...nodeArgs], {
    env: { ...process.env, ...env, BENCH_SERVER: target, BENCH_RATE_LIMIT_TIMEOUT_MS: '5000' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    const port = await portOf(child);
    await drive(port, warmup, authorization);
    spawnSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
    await drive(port, requests, authorization);
    spawnSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
    const counts = countsOf(`${out}.1`);
    return { all: counts.all / requests, noMajorGc: counts.noMajorGc / requests, steady: counts.steady / requests };
  } finally {
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
  }
}

export default async function main(): Promise<void> {
  ensureRequirements([{ binary: 'valgrind', debianPackage: 'valgrind' }, { binary: 'callgrind_control', debianPackage: 'valgrind' }]);
  const warmup = Number(process.env.BENCH_WARMUP_REQUESTS ?? 20_000);
  const requests = Number(process.env.BENCH_REQUESTS ?? 4_000);
  // With BENCH_BEFORE_ROOT both before targets are added unless BENCH_TARGETS names the ones wanted.
  const listed = (process.env.BENCH_TARGETS ?? 'direct,minimal,proxy,full,full+lease').split(',');
  const targets = process.env.BENCH_BEFORE_ROOT && !listed.some((t) => t.endsWith('-before')) ? [...listed, 'proxy-before', 'full-before'] : listed;

  const { env, authorization, stop } = await startTargetSurroundings(GATEWAY_BENCH);
  console.log(`gateway instructions: callgrind, ${warmup} warm-up requests, ${requests} measured, 10 connections, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const results = new Map<string, Counts>();
  try {
    for (const target of targets) {
      const r = await measure(target, env, warmup, requests, target.startsWith('full') || target === 'peer' ? authorization : undefined);
      results.set(target, r);
      const minimal = results.get('minimal');
      const direct = results.get('direct');
      const vs = (base: Counts | undefined, name: string): string => (base ? `  ${(r.steady / base.steady).toFixed(3)}× ${name}` : '');
      const n = (v: number): string => Math.round(v).toLocaleString('en').padStart(9);
      console.log(`${target.padEnd(13)} ${n(r.all)} instr/req  ${n(r.noMajorGc)} without major GC  ${n(r.steady)} without major GC nor JIT compiler${vs(minimal, 'minimal')}${vs(direct, 'direct')}`);
    }
  } finally {
    stop();
  }
}
