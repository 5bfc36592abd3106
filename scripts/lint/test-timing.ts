/**
 * `npm run lint` part: tests assert on state and wait for conditions, not on the clock.
 *
 * In every `*.test.ts` file this flags
 *  - sleeps: an awaited timer used as a statement outside a poll loop
 *    (`await new Promise((r) => setTimeout(r, n))` or `…setTimeout(() => r(), n)`,
 *    `await setTimeout(n)` from node:timers/promises, also as `timers.setTimeout(n)` or
 *    `scheduler.wait(n)`, `await sleep(n)` / `await delay(n)`); a wait inside a loop that
 *    re-checks its condition is a poll and is not flagged (prefer test-support's waitFor), but a
 *    loop that ends only by its own counter or the clock (`for (i < 20) { …; await sleep(5) }`,
 *    `while (Date.now() - start < 3_000)`, no break/return/throw) waits for time to pass, and its
 *    timer is a sleep;
 *  - elapsed-time assertions: an `expect(...)` whose argument subtracts clock readings
 *    (`Date.now()`, `performance.now()`, `process.hrtime…`, or names that read as times:
 *    start/started/end/ended/elapsed/took/duration/…At), directly or through a local computed
 *    from such a difference (`const gap = b.at - a.at; expect(gap)`, `expect(Math.max(...gaps))`),
 *    or whose matcher compares a time with a clock difference or an offset time
 *    (`expect(b.at).toBeLessThan(a.at + 500)`).
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
/** Timers called as methods: `timers.setTimeout(n)`, `timersPromises.setTimeout(n)`, `scheduler.wait(n)`. */
const SLEEP_METHODS = new Set(['setTimeout', 'sleep', 'delay']);
/** Names that read as clock readings taken by the test (not a record's timestamp such as createdAt). */
const TIME_NAME = /^(?:at|now|start|started|startedAt|end|ended|endedAt|elapsed|elapsedMs|took|tookMs|duration|durationMs|t0|t1)$|(?:Start|Started|Now)$/;

function isClockRead(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const text = node.expression.getText();
  return text === 'Date.now' || text === 'performance.now' || text.startsWith('process.hrtime');
}

/** Reads a time: a clock read, a name that reads as one, or a local the test set from the clock (`clockLocals`). */
function readsTime(node: ts.Node, clockLocals: ReadonlySet<string> = new Set()): boolean {
  if (isClockRead(node)) return true;
  if (ts.isIdentifier(node) && (TIME_NAME.test(node.text) || clockLocals.has(node.text))) return true;
  if (ts.isPropertyAccessExpression(node) && TIME_NAME.test(node.name.text)) return true;
  return false;
}

const ELAPSED_NAME = /^(?:elapsed|took)/i;

/** `expect(elapsedMs)`: a local that is itself a measured duration (a spec's `duration` field is not). */
function isDuration(node: ts.Node): boolean {
  return ts.isIdentifier(node) && ELAPSED_NAME.test(node.text);
}

/** An identifier read as a value (not a property name after a dot, not a declaration's name). */
function isValueIdentifier(n: ts.Node): n is ts.Identifier {
  if (!ts.isIdentifier(n)) return false;
  const parent = n.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === n) return false;
  if (ts.isPropertyAssignment(parent) && parent.name === n) return false;
  return true;
}

/** What the file's locals hold: clock readings (`const t0 = performance.now()`) and durations derived from them. */
interface TimeLocals {
  clock: ReadonlySet<string>;
  durations: ReadonlySet<string>;
}

const NO_LOCALS: TimeLocals = { clock: new Set(), durations: new Set() };

function isMinus(n: ts.Node): n is ts.BinaryExpression {
  return ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.MinusToken;
}

function someDescendant(node: ts.Node, test: (n: ts.Node) => boolean): boolean {
  let found = false;
  const visit = (n: ts.Node): void => {
    if (found) return;
    if (test(n)) found = true;
    else ts.forEachChild(n, visit);
  };
  visit(node);
  return found;
}

/** A gap between two times (`b.at - a.at`, `performance.now() - t0`), or a read of a local holding one. */
function readsGap(node: ts.Node, locals: TimeLocals): boolean {
  return someDescendant(
    node,
    (n) => (isMinus(n) && readsTime(n.left, locals.clock) && readsTime(n.right, locals.clock)) || (isValueIdentifier(n) && locals.durations.has(n.text)),
  );
}

/**
 * The argument of `expect(…)`: a difference with a clock reading on either side (`Date.now() - t`), a measured
 * duration (`elapsedMs`), or a gap (see readsGap).
 */
function subtractsTimes(node: ts.Node, locals: TimeLocals = NO_LOCALS): boolean {
  if (isDuration(node)) return true;
  return someDescendant(node, (n) => isMinus(n) && (readsTime(n.left) || readsTime(n.right))) || readsGap(node, locals);
}

/** `a.at + 500`: a time moved by an offset, the other half of a gap assertion written without a minus. */
function offsetsTime(node: ts.Node, locals: TimeLocals): boolean {
  return ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken && (readsTime(node.left, locals.clock) || readsTime(node.right, locals.clock));
}

/**
 * Locals (by name, file-wide): those set from the clock, and durations derived from gaps between times
 * (`const gap = b.at - a.at`, `const gaps = xs.map(…)` over such gaps, `worst = Math.max(...gaps)`); a value
 * computed by awaiting or constructing something (a request's answer) is not a duration.
 */
function timeLocals(sf: ts.SourceFile): TimeLocals {
  const clock = new Set<string>();
  const durations = new Set<string>();
  const locals = { clock, durations };
  for (let grown = true; grown; ) {
    grown = false;
    const visit = (n: ts.Node): void => {
      let name: string | undefined;
      let value: ts.Expression | undefined;
      if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer) [name, value] = [n.name.text, n.initializer];
      else if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(n.left)) [name, value] = [n.left.text, n.right];
      if (name !== undefined && value !== undefined) {
        if (!clock.has(name) && isClockRead(value)) {
          clock.add(name);
          grown = true;
        } else if (!durations.has(name) && !someDescendant(value, (v) => ts.isAwaitExpression(v) || ts.isNewExpression(v)) && readsGap(value, locals)) {
          durations.add(name);
          grown = true;
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return locals;
}

/** `expect(x)` → `x`; also through `.not`, `.resolves`, `.rejects`. */
function expectArgument(matcherTarget: ts.Expression): ts.Expression | undefined {
  let e = matcherTarget;
  while (ts.isPropertyAccessExpression(e) && ['not', 'resolves', 'rejects'].includes(e.name.text)) e = e.expression;
  if (ts.isCallExpression(e) && ts.isIdentifier(e.expression) && e.expression.text === 'expect') return e.arguments[0];
  return undefined;
}

/** `new Promise((r) => setTimeout(r, n))`: an executor that only resolves on a timer. */
function isTimerPromise(node: ts.NewExpression): boolean {
  if (node.expression.getText() !== 'Promise') return false;
  const executor = node.arguments?.[0];
  if (!executor || !(ts.isArrowFunction(executor) || ts.isFunctionExpression(executor))) return false;
  const resolve = executor.parameters[0]?.name.getText();
  if (resolve === undefined) return false;
  const body = onlyExpression(executor.body);
  if (!body || !ts.isCallExpression(body) || !ts.isIdentifier(body.expression) || body.expression.text !== 'setTimeout') return false;
  const callback = body.arguments[0];
  if (!callback) return false;
  if (callback.getText() === resolve) return true;
  // `setTimeout(() => resolve(), n)`: a callback that only resolves.
  if (!ts.isArrowFunction(callback) && !ts.isFunctionExpression(callback)) return false;
  const inner = onlyExpression(callback.body);
  return inner !== undefined && ts.isCallExpression(inner) && inner.expression.getText() === resolve;
}

/** The expression of a concise body or of a block holding one expression statement. */
function onlyExpression(body: ts.ConciseBody): ts.Expression | undefined {
  if (!ts.isBlock(body)) return body;
  const [only] = body.statements;
  return body.statements.length === 1 && only && ts.isExpressionStatement(only) ? only.expression : undefined;
}

/**
 * Names declared only with `const` in the file (a count, a deadline, a start time). Any other name a loop
 * condition reads (a `let` flag, a last answer, a parameter, an import) may change: it is state.
 */
function constLocals(sf: ts.SourceFile): Set<string> {
  const constant = new Set<string>();
  const other = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isVariableDeclarationList(n)) {
      for (const d of n.declarations) if (ts.isIdentifier(d.name)) (n.flags & ts.NodeFlags.Const ? constant : other).add(d.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  for (const name of other) constant.delete(name);
  return constant;
}

/**
 * A loop that ends only by its own counter or by the clock: its condition reads no state (no call but a
 * clock read, no property, no `await`, no name but the loop's counter and consts) and its body cannot
 * leave early (no break, return or throw outside nested functions).
 */
function isTimedLoop(loop: ts.IterationStatement, constants: ReadonlySet<string>): boolean {
  let condition: ts.Expression | undefined;
  const counters = new Set<string>();
  if (ts.isForStatement(loop)) {
    condition = loop.condition;
    if (loop.initializer && ts.isVariableDeclarationList(loop.initializer)) {
      for (const d of loop.initializer.declarations) if (ts.isIdentifier(d.name)) counters.add(d.name.text);
    }
  } else if (ts.isWhileStatement(loop) || ts.isDoStatement(loop)) {
    condition = loop.expression;
  } else {
    return false; // for-of / for-in walk a collection: work, not waiting
  }
  if (!condition) return false; // `for (;;)`: ends by a break, so by a condition
  let readsState = false;
  const inspect = (n: ts.Node): void => {
    if (readsState) return;
    if (isClockRead(n)) return;
    if (ts.isCallExpression(n) || ts.isAwaitExpression(n) || ts.isPropertyAccessExpression(n) || ts.isElementAccessExpression(n)) {
      readsState = true;
      return;
    }
    if (isValueIdentifier(n) && !constants.has(n.text) && !counters.has(n.text)) {
      readsState = true;
      return;
    }
    ts.forEachChild(n, inspect);
  };
  inspect(condition);
  if (readsState) return false;
  let leaves = false;
  const scan = (n: ts.Node): void => {
    if (leaves || ts.isFunctionLike(n)) return;
    if (ts.isBreakStatement(n) || ts.isReturnStatement(n) || ts.isThrowStatement(n)) {
      leaves = true;
      return;
    }
    ts.forEachChild(n, scan);
  };
  scan(loop.statement);
  return !leaves;
}

/** The loop a statement waits in (up to its function), if any. */
function enclosingLoop(node: ts.Node): ts.IterationStatement | undefined {
  for (let n = node.parent; n && !ts.isFunctionLike(n); n = n.parent) {
    if (ts.isIterationStatement(n, false)) return n;
  }
  return undefined;
}

function isTimerCall(awaited: ts.Expression): boolean {
  if (ts.isNewExpression(awaited)) return isTimerPromise(awaited);
  if (!ts.isCallExpression(awaited)) return false;
  const callee = awaited.expression;
  if (ts.isIdentifier(callee)) return SLEEP_NAMES.has(callee.text);
  if (ts.isPropertyAccessExpression(callee)) return SLEEP_METHODS.has(callee.name.text) || callee.getText() === 'scheduler.wait';
  return false;
}

/**
 * An awaited timer as a statement outside a poll loop (or inside a loop that only counts or watches the
 * clock): the test waits for time to pass. Inside a loop that re-checks state it is a poll.
 */
function isSleep(statement: ts.ExpressionStatement, constants: ReadonlySet<string>): boolean {
  const expr = statement.expression;
  if (!ts.isAwaitExpression(expr) || !isTimerCall(expr.expression)) return false;
  const loop = enclosingLoop(statement);
  return loop === undefined || isTimedLoop(loop, constants);
}

export function findTimingSmells(fileName: string, source: string): Finding[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const findings: Finding[] = [];
  const add = (kind: Finding['kind'], node: ts.Node): void => {
    findings.push({ kind, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: node.getText(sf).split('\n')[0]!.slice(0, 100) });
  };
  const constants = constLocals(sf);
  const locals = timeLocals(sf);
  const visit = (node: ts.Node): void => {
    if (ts.isExpressionStatement(node) && isSleep(node, constants)) add('sleep', node);
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'expect' && node.arguments.some((a) => subtractsTimes(a, locals))) add('elapsed', node);
    // `expect(b.at).toBeLessThan(a.at + 500)` / `expect(n).toBeLessThan(limit * elapsedMs)`: the gap sits in the matcher.
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const actual = expectArgument(node.expression.expression);
      if (actual && !subtractsTimes(actual, locals) && node.arguments.some((m) => readsGap(m, locals) || (readsTime(actual, locals.clock) && offsetsTime(m, locals)))) add('elapsed', node);
    }
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
