/**
 * Stampede protection across processes: four cache instances (separate Node
 * processes on the shared Redis) miss one key 1,000 times at once, and the
 * origin runs exactly once; everyone gets the value it produced.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { deletePrefix, redisUrl, suffix } from '@bulwark/test-support';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const prefix = `cachetest-${suffix()}`;
const redis = new Redis(redisUrl());

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

interface Worker {
  ready: Promise<void>;
  result: Promise<{ values: string[] }>;
  child: ChildProcessWithoutNullStreams;
}

function startWorker(env: Record<string, string>): Worker {
  const child = spawn(path.join(repoRoot, 'scripts/run'), ['node', '--conditions=bulwark-source', path.join(here, 'fixtures/stampede-worker.ts')], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const result = new Promise<{ values: string[] }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as { values: string[] });
    });
  });
  return { ready: Promise.race([ready, result.then(() => undefined)]), result, child };
}

describe('stampede protection', () => {
  it('when 1,000 concurrent misses on one key arrive across 4 processes, then the origin is called exactly once', async () => {
    const counterKey = `${prefix}:origin-calls`;
    const env = { REDIS_URL: redisUrl(), PREFIX: prefix, KEY: 'product:hot', COUNTER_KEY: counterKey, CONCURRENCY: '250', ORIGIN_MS: '300' };
    const workers = Array.from({ length: 4 }, () => startWorker(env));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.stdin.write('go\n');
    const results = await Promise.all(workers.map((w) => w.result));

    expect(await redis.get(counterKey)).toBe('1');
    const values = new Set(results.flatMap((r) => r.values));
    expect(values.size).toBe(1);
  }, 60_000);
});
