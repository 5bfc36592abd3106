import { describe, expect, it } from '@jest/globals';
import { findTimingSmells } from './test-timing.ts';

const kinds = (source: string) => findTimingSmells('x.test.ts', source).map((f) => f.kind);

describe('test timing check', () => {
  it.each([
    ['a timer promise awaited as a statement', 'it("x", async () => { await new Promise((r) => setTimeout(r, 100)); });'],
    ['a block-bodied timer promise', 'it("x", async () => { await new Promise<void>((resolve) => { setTimeout(resolve, 5); }); });'],
    ['timers/promises setTimeout', 'it("x", async () => { await setTimeout(50); });'],
    ['a sleep helper', 'it("x", async () => { await sleep(200); });'],
  ])('when a test has %s, then it is a sleep', (_name, source) => {
    expect(kinds(source)).toEqual(['sleep']);
  });

  it.each([
    ['a poll loop that re-checks its condition', 'it("x", async () => { while (!done) await new Promise((r) => setTimeout(r, 5)); });'],
    ['a poll closure (the timer is not the resolver)', 'it("x", async () => { await new Promise<void>((resolve) => { const check = () => (ok ? resolve() : setTimeout(check, 10)); check(); }); });'],
    ['a waitFor', 'it("x", async () => { await waitFor(() => ok, "ok"); });'],
    ['a timer inside a fake upstream handler that is not awaited as a statement', 'const slow = (_q, res) => setTimeout(() => res.end(), 50);'],
  ])('when a test has %s, then it is not flagged', (_name, source) => {
    expect(kinds(source)).toEqual([]);
  });

  it.each([
    ['a Date.now() difference', 'expect(Date.now() - t).toBeLessThan(7_000);'],
    ['a performance.now() difference', 'expect(performance.now() - began).toBeGreaterThanOrEqual(149);'],
    ['settle times', 'expect(a.at - firstStart).toBeGreaterThanOrEqual(149);'],
    ['a measured duration', 'const tookMs = Date.now() - t0; expect(tookMs).toBeLessThan(7_000);'],
    ['an elapsed computation inside a predicate', 'expect(ticks.every((c) => start - Date.parse(c.tick) <= 13_000)).toBe(true);'],
  ])('when an assertion reads %s, then it is an elapsed-time assertion', (_name, source) => {
    expect(kinds(source)).toEqual(['elapsed']);
  });

  it.each([
    ['a count difference', 'expect(upstream.seen.length - before).toBe(3);'],
    ['a schedule computed from a record timestamp', 'expect(Date.parse(next) - createdAt).toBe(60_000);'],
    ['a clock read outside expect', 'const took = Date.now() - t0; log(took);'],
  ])('when an assertion reads %s, then it is not flagged', (_name, source) => {
    expect(kinds(source)).toEqual([]);
  });
});
