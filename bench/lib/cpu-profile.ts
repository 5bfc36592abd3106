/**
 * Summarises V8 `.cpuprofile` files (from `BENCH_SERVER_NODE_ARGS="--cpu-prof
 * --cpu-prof-dir=DIR"` in bench/gateway.ts): self time grouped by where the
 * code lives (a package under node_modules, a node: module, a workspace
 * package, the gateway, or a V8/native entry such as `writev` or `(garbage
 * collector)`), and the top functions, each as a share of the busy (non-idle)
 * samples. A persistent bench server idles while the other targets run, so
 * shares of all samples would mostly measure the idle time.
 *
 *   scripts/run node bench/lib/cpu-profile.ts DIR/*.cpuprofile
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Share {
  name: string;
  /** Fraction of the busy samples' time, 0..1. */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  groups: Share[];
  functions: Share[];
}

/** Where a frame's code lives. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  const nm = url.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return url.startsWith('node:internal/') ? 'node:internal' : url;
  const pkg = /\/(packages|apps|operators)\/([^/]+)\//.exec(url);
  if (pkg) return `${pkg[1]}/${pkg[2]}`;
  if (url.includes('/bench/')) return 'bench';
  return functionName || `(${url || 'native'})`;
}

function ranked(times: Map<string, number>, busy: number, top: number): Share[] {
  return [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, t]) => ({ name, share: busy > 0 ? t / busy : 0 }));
}

export function summariseProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = frames.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + dt);
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    functions.set(fn, (functions.get(fn) ?? 0) + dt);
  }
  return { busyMs: busy / 1000, idleMs: idle / 1000, groups: ranked(groups, busy, top), functions: ranked(functions, busy, top) };
}

function print(file: string): void {
  const s = summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const pct = (x: number): string => `${(100 * x).toFixed(1).padStart(5)}%`;
  console.log(`${file}: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms; shares of busy time`);
  for (const g of s.groups) console.log(`  ${pct(g.share)}  ${g.name}`);
  console.log('  top functions:');
  for (const f of s.functions) console.log(`  ${pct(f.share)}  ${f.name}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node bench/lib/cpu-profile.ts FILE.cpuprofile...');
    process.exit(2);
  }
  for (const file of files) print(file);
}
