/**
 * The N+1 guard for service tests: while it is on, a request or job of any
 * pool in this process that runs one statement shape `threshold` times fails
 * the running test (in its afterEach), naming the statement, its shape, the
 * route or job and the count. Intended repeats (a batch loop) are allowed by
 * statement name or shape, each with its reason.
 *
 * ```ts
 * // apps/<svc>/test/support.ts, at module level: every test file that imports it is guarded
 * import { guardNPlusOne } from '@bulwark/test-support/n-plus-one';
 * guardNPlusOne({ allow: [{ statement: 'reservations.release', reason: 'the sweeper releases one expired hold per statement by design' }] });
 * ```
 */
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { listenForNPlusOne, type NPlusOneReport } from '@bulwark/db';

/** An intended repeat: every condition given must match (at least one of statement and shape). */
export interface AllowedRepeat {
  /** The statement name (`query({ name })`) allowed to repeat. */
  statement?: string;
  /** A pattern its shape matches. */
  shape?: RegExp;
  /** Only in this work: a route (`POST /v1/orders`) or a job name (`trackQueries(name)`). */
  work?: string;
  /** Why repeating it is intended (kept in the test setup for the reader). */
  reason: string;
}

export interface NPlusOneGuardOptions {
  /** Runs of one shape in one request or job that fail the test. Default 5. */
  threshold?: number;
  allow?: readonly AllowedRepeat[];
}

export interface NPlusOneWatch {
  /** Reports heard since the start or the last `take()`, allowed ones left out. */
  take(): NPlusOneReport[];
  stop(): void;
}

/** Collects N+1 reports from every pool of the process (for a test that asserts on them itself). */
export function watchNPlusOne(options: NPlusOneGuardOptions = {}): NPlusOneWatch {
  const allow = options.allow ?? [];
  let heard: NPlusOneReport[] = [];
  const allowed = (r: NPlusOneReport) =>
    allow.some((a) => (a.statement !== undefined || a.shape !== undefined) && (a.statement === undefined || a.statement === r.statement) && (a.shape === undefined || a.shape.test(r.shape)) && (a.work === undefined || a.work === r.work));
  const stop = listenForNPlusOne({
    threshold: options.threshold ?? 5,
    onDetected: (report) => {
      if (!allowed(report)) heard.push(report);
    },
  });
  return {
    take() {
      const taken = heard;
      heard = [];
      return taken;
    },
    stop,
  };
}

/** One line per report, for a failure message. */
export function describeNPlusOne(reports: readonly NPlusOneReport[]): string {
  return reports.map((r) => `  ${r.work} (${r.kind}): ${r.statement} ran ${r.count}+ times on pool ${r.pool}: ${r.shape}`).join('\n');
}

/** The guard of this test file (Jest loads modules once per file), so support files imported together add up. */
let installed: { allow: AllowedRepeat[] } | undefined;

/**
 * Turns the guard on for the test file that calls it (at module level or in a
 * describe): after each test, N+1 reports heard during it fail that test. A
 * second call in the same file (two services' support files) only adds its
 * allowed repeats; the first call's threshold holds.
 */
export function guardNPlusOne(options: NPlusOneGuardOptions = {}): void {
  if (installed) {
    installed.allow.push(...(options.allow ?? []));
    return;
  }
  const guard = { allow: [...(options.allow ?? [])] };
  installed = guard;
  const threshold = options.threshold ?? 5;
  let watch: NPlusOneWatch | undefined;
  beforeAll(() => {
    watch = watchNPlusOne({ threshold, allow: guard.allow });
  });
  afterEach(() => {
    const reports = watch?.take() ?? [];
    if (reports.length > 0) {
      throw new Error(`N+1 queries (threshold ${threshold}); batch them, or allow them with a reason in guardNPlusOne:\n${describeNPlusOne(reports)}`);
    }
  });
  afterAll(() => watch?.stop());
}
