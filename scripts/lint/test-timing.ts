/**
 * `npm run lint` part: tests assert on state and wait for conditions, not on the clock.
 *
 * In every `*.test.ts` file this flags
 *  - sleeps: an awaited timer used as a statement outside a poll loop
 *    (`await new Promise((r) => setTimeout(r, n))`, `await setTimeout(n)` from
 *    node:timers/promises, `await sleep(n)` / `await delay(n)`); a wait inside a loop that
 *    re-checks its condition is a poll and is not flagged (prefer test-support's waitFor);
 *  - elapsed-time assertions: an `expect(...)` whose argument subtracts clock readings
 *    (`Date.now()`, `performance.now()`, `process.hrtime…`, or names that read as times:
 *    start/started/end/ended/elapsed/took/duration/…At).
 *
 * A file may keep a counted number of them only through scripts/lint/test-timing-allow.json,
 * each entry with its reason (a delay that simulates a slow upstream is not a synchronisation).
 * More than allowed fails; fewer prints a note to tighten the entry. Helpers outside test files
 * (support code, fixtures, packages/test-support's waitFor) are not checked: a poll interval
 * inside waitFor is how a condition is waited for.
 *
 * Run: scripts/run node scripts/lint/test-timing.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const allowFile = path.join(repoRoot, 'scripts/lint/test-timing-allow.json');

export interface Finding {
  kind: 'sleep' | 'elapsed';
  line: number;
  text: string;
}

interface Allowance {
  sleep?: number;
  elapsed?: number;
  reason: string;
}

const SLEEP_NAMES = new Set(['sleep', 'delay', 'setTimeout', 'wait']);
/** Names that read as clock readings taken by the test (not a record's timestamp such as createdAt). */
const TIME_NAME = /^(?:at|now|start|started|startedAt|end|ended|endedAt|elapsed|elapsedMs|took|tookMs|duration|durationMs|t0|t1)$|(?:Start|Started|Now)$/;

function isClockRead(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const text = node.expression.getText();
  return text === 'Date.now' || text === 'performance.now' || text.startsWith('process.hrtime');
}

function readsTime(node: ts.Node): boolean {
  if (isClockRead(node)) return true;
  if (ts.isIdentifier(node) && TIME_NAME.test(node.text)) return true;
  if (ts.isPropertyAccessExpression(node) && TIME_NAME.test(node.name.text)) return true;
  return false;
}

const ELAPSED_NAME = /^(?:elapsed|took)/i;

/** `expect(elapsedMs)`: a local that is itself a measured duration (a spec's `duration` field is not). */
function isDuration(node: ts.Node): boolean {
  return ts.isIdentifier(node) && ELAPSED_NAME.test(node.text);
}

function subtractsTimes(node: ts.Node): boolean {
  if (isDuration(node)) return true;
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.MinusToken && (readsTime(n.left) || readsTime(n.right))) {
      found = true;
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** `new Promise((r) => setTimeout(r, n))`: an executor that only resolves on a timer. */
function isTimerPromise(node: ts.NewExpression): boolean {
  if (node.expression.getText() !== 'Promise') return false;
  const executor = node.arguments?.[0];
  if (!executor || !(ts.isArrowFunction(executor) || ts.isFunctionExpression(executor))) return false;
  const resolve = executor.parameters[0]?.name.getText();
  let body: ts.Node = executor.body;
  if (ts.isBlock(body) && body.statements.length === 1 && ts.isExpressionStatement(body.statements[0]!)) body = body.statements[0].expression;
  return (
    ts.isCallExpression(body) && ts.isIdentifier(body.expression) && body.expression.text === 'setTimeout' && body.arguments[0]?.getText() === resolve
  );
}

/** Inside a loop: a poll that re-checks a condition after each wait (a hand-written waitFor), not a sleep. */
function inLoop(node: ts.Node): boolean {
  for (let n = node.parent; n && !ts.isFunctionLike(n); n = n.parent) {
    if (ts.isIterationStatement(n, false)) return true;
  }
  return false;
}

/** An awaited timer as a statement outside a poll loop: the test waits for time to pass. */
function isSleep(statement: ts.ExpressionStatement): boolean {
  const expr = statement.expression;
  if (!ts.isAwaitExpression(expr) || inLoop(statement)) return false;
  const awaited = expr.expression;
  if (ts.isNewExpression(awaited)) return isTimerPromise(awaited);
  if (ts.isCallExpression(awaited) && ts.isIdentifier(awaited.expression)) return SLEEP_NAMES.has(awaited.expression.text);
  return false;
}

export function findTimingSmells(fileName: string, source: string): Finding[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const add = (kind: Finding['kind'], node: ts.Node): void => {
    findings.push({ kind, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: node.getText(sf).split('\n')[0]!.slice(0, 100) });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node) && isSleep(node)) add('sleep', node);
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'expect' && node.arguments.some(subtractsTimes)) add('elapsed', node);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return findings;
}

function testFiles(dir: string, out: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) testFiles(full, out);
    else if (entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

function main(): void {
  const allow = JSON.parse(fs.readFileSync(allowFile, 'utf8')) as Record<string, Allowance>;
  const problems: string[] = [];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const file of testFiles(repoRoot).sort()) {
    const rel = path.relative(repoRoot, file);
    if (rel === 'scripts/lint/test-timing.test.ts') continue; // its fixtures are the smells
    const findings = findTimingSmells(rel, fs.readFileSync(file, 'utf8'));
    const allowed = allow[rel];
    if (allowed) seen.add(rel);
    for (const kind of ['sleep', 'elapsed'] as const) {
      const mine = findings.filter((f) => f.kind === kind);
      const limit = allowed?.[kind] ?? 0;
      if (mine.length > limit) {
        problems.push(
          `${rel}: ${mine.length} ${kind === 'sleep' ? 'sleep(s) used as synchronisation' : 'assertion(s) on elapsed time'} (allowed ${limit}):\n` +
            mine.map((f) => `    line ${f.line}: ${f.text}`).join('\n'),
        );
      } else if (mine.length < limit) {
        notes.push(`${rel}: ${kind} allowance ${limit}, found ${mine.length}: lower it in scripts/lint/test-timing-allow.json`);
      }
    }
  }
  for (const rel of Object.keys(allow)) if (!seen.has(rel)) notes.push(`${rel}: in the allow-list but not a test file any more`);
  for (const n of notes) console.log(`note: ${n}`);
  if (problems.length > 0) {
    console.error(
      'Tests must wait for a condition (packages/test-support waitFor), assert on state, and prove an absence with a sentinel,\n' +
        'not sleep or measure the clock (README, "Tests"). If one is a deliberate delay (a slow fake upstream, a paced load),\n' +
        'add the file to scripts/lint/test-timing-allow.json with its count and reason.\n\n' +
        problems.join('\n'),
    );
    process.exit(1);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
