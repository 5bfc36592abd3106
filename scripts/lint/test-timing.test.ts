import { describe, expect, it } from '@jest/globals';
import { findTimingSmells } from './test-timing.ts';

const kinds = (source: string) => findTimingSmells('x.test.ts', source).map((f) => f.kind);

describe('test timing check', () => {
  it.each([
    ['a timer promise awaited as a statement', 'it("x", async () => { await new Promise((r) => setTimeout(r, 100)); });'],
    ['a block-bodied timer promise', 'it("x", async () => { await new Promise<void>((resolve) => { setTimeout(resolve, 5); }); });'],
    ['timers/promises setTimeout', 'it("x", async () => { await setTimeout(50); });'],
    ['a sleep helper', 'it("x", async () => { await sleep(200); });'],
    ['a timer whose callback calls the resolver', 'it("x", async () => { await new Promise<void>((r) => setTimeout(() => r(), 100)); });'],
    ['a timers/promises setTimeout called on its module', 'it("x", async () => { await timers.setTimeout(50); });'],
    ['scheduler.wait', 'it("x", async () => { await scheduler.wait(50); });'],
    ['a loop that only counts', 'it("x", async () => { for (let i = 0; i < 20; i++) { await p.query("SELECT 1"); await sleep(5); } });'],
    ['a loop that only watches the clock', 'it("x", async () => { const start = Date.now(); while (Date.now() - start < 3_000) { check(); await sleep(200); } });'],
  ])('when a test has %s, then it is a sleep', (_name, source) => {
    expect(kinds(source)).toEqual(['sleep']);
  });

  it.each([
    ['a poll loop that re-checks its condition', 'it("x", async () => { while (!done) await new Promise((r) => setTimeout(r, 5)); });'],
    ['a poll closure (the timer is not the resolver)', 'it("x", async () => { await new Promise<void>((resolve) => { const check = () => (ok ? resolve() : setTimeout(check, 10)); check(); }); });'],
    ['a waitFor', 'it("x", async () => { await waitFor(() => ok, "ok"); });'],
    ['a timer inside a fake upstream handler that is not awaited as a statement', 'const slow = (_q, res) => setTimeout(() => res.end(), 50);'],
    ['a counted poll that re-checks an answer', 'it("x", async () => { let d = await hit(); for (let i = 0; i < 200 && !d.allowed; i++) { await sleep(10); d = await hit(); } });'],
    ['a counted poll that breaks on its condition', 'it("x", async () => { for (let i = 0; i < 50; i++) { if (await ready()) break; await sleep(10); } });'],
    ['a paced workload that runs while a flag is set', 'it("x", async () => { let writing = true; const w = (async () => { while (writing) { await insert(); await sleep(20); } })(); });'],
    ['a method named wait on some object', 'it("x", async () => { await barrier.wait(); });'],
  ])('when a test has %s, then it is not flagged', (_name, source) => {
    expect(kinds(source)).toEqual([]);
  });

  it.each([
    ['a Date.now() difference', 'expect(Date.now() - t).toBeLessThan(7_000);'],
    ['a performance.now() difference', 'expect(performance.now() - began).toBeGreaterThanOrEqual(149);'],
    ['settle times', 'expect(a.at - firstStart).toBeGreaterThanOrEqual(149);'],
    ['a measured duration', 'const tookMs = Date.now() - t0; expect(tookMs).toBeLessThan(7_000);'],
    ['an elapsed computation inside a predicate', 'expect(ticks.every((c) => start - Date.parse(c.tick) <= 13_000)).toBe(true);'],
    ['a gap kept in a local', 'const gap = b.at - a.at; expect(gap).toBeLessThanOrEqual(500);'],
    ['gaps derived through locals', 'const gaps = xs.slice(1).map((x, i) => x.at - xs[i].at); const worst = Math.max(...gaps); expect(worst).toBeLessThan(500);'],
    ['a duration from a clock local', 'const began = performance.now(); await run(); const ms = performance.now() - began; expect(ms).toBeLessThan(100);'],
    ['a gap written as an offset in the matcher', 'expect(b.at).toBeLessThanOrEqual(a.at + 500);'],
    ['a bound computed from a measured duration in the matcher', 'const t0 = Date.now(); await burst(); const secs = (Date.now() - t0) / 1000; expect(admitted).toBeLessThanOrEqual(limit + secs * rate);'],
  ])('when an assertion reads %s, then it is an elapsed-time assertion', (_name, source) => {
    expect(kinds(source)).toEqual(['elapsed']);
  });

  it.each([
    ['a count difference', 'expect(upstream.seen.length - before).toBe(3);'],
    ['a schedule computed from a record timestamp', 'expect(Date.parse(next) - createdAt).toBe(60_000);'],
    ['a clock read outside expect', 'const took = Date.now() - t0; log(took);'],
    ['a timestamp an hour old used as input', 'const stale = sign(body, Math.floor(Date.now() / 1000) - 3600); const r = await post(stale); expect(r.status).toBe(401);'],
    ['a controlled clock passed in', 'const now = Date.now(); expect(await oldestAge(queue, now)).toBe(now - job.timestamp);'],
    ['a schedule compared with the creation time taken by the test', 'const createdAt = Date.now(); expect(Date.parse(next) - createdAt).toBeLessThanOrEqual(86_400_000);'],
  ])('when an assertion reads %s, then it is not flagged', (_name, source) => {
    expect(kinds(source)).toEqual([]);
  });
});
