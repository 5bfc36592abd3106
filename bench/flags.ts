/**
 * Local flag evaluation through the OpenFeature SDK: @bulwark/openfeature-provider
 * (snapshot from a stand-in flags stream, evaluateFlag per call) against the
 * SDK's own InMemoryProvider on the same flags, in the same run and the same
 * client code. Two flags: `static` (one variant, no rules) and `targeted`
 * (an attribute rule, then a 50/50 rollout; InMemoryProvider's
 * contextEvaluator does the same rule and the same murmur3 bucket, so both
 * do equal work). Rounds alternate providers; prints evaluations/s and the
 * ratio (ours / InMemoryProvider), plus evaluateFlag alone without the SDK.
 * BENCH_OPS (200,000) evaluations per round, BENCH_ROUNDS (3).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemoryProvider, OpenFeature, type Client } from '@openfeature/server-sdk';
import { BulwarkFlagsProvider, bucketOf, evaluateFlag, type Snapshot } from '../packages/openfeature-provider/src/index.ts';

const OPS = Number(process.env.BENCH_OPS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const snapshot: Snapshot = {
  tenant: 'bench',
  environment: 'production',
  revision: 1,
  segments: {},
  flags: {
    static: { key: 'static', type: 'boolean', variants: { on: true, off: false }, version: 1, killed: false, enabled: true, offVariant: 'off', rules: [], fallthrough: { variant: 'on' }, salt: 'static' },
    targeted: {
      key: 'targeted',
      type: 'string',
      variants: { a: 'A', b: 'B', staff: 'S' },
      version: 1,
      killed: false,
      enabled: true,
      offVariant: 'a',
      rules: [{ id: 'staff', clauses: [{ attribute: 'email', op: 'endsWith', values: ['@bulwark.test'] }], serve: { variant: 'staff' } }],
      fallthrough: { rollout: [{ variant: 'a', weight: 50 }, { variant: 'b', weight: 50 }] },
      salt: 'targeted',
    },
  },
};

const inMemory = new InMemoryProvider({
  static: { variants: { on: true, off: false }, defaultVariant: 'on', disabled: false },
  targeted: {
    variants: { a: 'A', b: 'B', staff: 'S' },
    defaultVariant: 'a',
    disabled: false,
    contextEvaluator: (ctx) => (typeof ctx.email === 'string' && ctx.email.endsWith('@bulwark.test') ? 'staff' : bucketOf('targeted', String(ctx.targetingKey)) < 50_000 ? 'a' : 'b'),
  },
});

/** A stand-in for apps/flags' snapshot stream: one snapshot, then silence. */
async function startStream(): Promise<{ url: string; close(): void }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(`id: 1\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() && server.closeAllConnections() };
}

/** Evaluations per second of `fn` called OPS times, one after the other (as a request handler would). */
async function rate(fn: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) await fn(i);
  return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
}

function rateSync(fn: (i: number) => unknown): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < OPS; i++) fn(i);
  return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export default async function main(): Promise<void> {
  const stream = await startStream();
  const ours = new BulwarkFlagsProvider({ url: stream.url, tenant: 'bench', exposures: false });
  await OpenFeature.setProviderAndWait('ours', ours);
  await OpenFeature.setProviderAndWait('in-memory', inMemory);
  const clients: Record<string, Client> = { ours: OpenFeature.getClient('ours'), 'in-memory': OpenFeature.getClient('in-memory') };
  const keys = Array.from({ length: 1_024 }, (_, i) => `user-${i}`);
  const cases = {
    static: (c: Client, i: number) => c.getBooleanValue('static', false, { targetingKey: keys[i & 1023]! }),
    targeted: (c: Client, i: number) => c.getStringValue('targeted', 'x', { targetingKey: keys[i & 1023]!, email: i % 10 === 0 ? 'a@bulwark.test' : 'a@example.com' }),
  };
  // Same answers first: the comparison is only fair if both evaluate the same thing.
  for (let i = 0; i < 1_024; i++) {
    if ((await cases.targeted(clients.ours!, i)) !== (await cases.targeted(clients['in-memory']!, i))) throw new Error(`providers disagree on key ${i}`);
  }
  console.log(`flags bench: ${OPS.toLocaleString('en')} evaluations per round, ${ROUNDS} rounds, medians`);
  for (const [name, run] of Object.entries(cases)) {
    const results: Record<string, number[]> = { ours: [], 'in-memory': [] };
    await rate((i) => run(clients.ours!, i));
    await rate((i) => run(clients['in-memory']!, i));
    for (let r = 0; r < ROUNDS; r++) {
      for (const p of ['ours', 'in-memory'] as const) results[p]!.push(await rate((i) => run(clients[p]!, i)));
    }
    const o = median(results.ours!);
    const m = median(results['in-memory']!);
    console.log(`  ${name.padEnd(9)} ours ${Math.round(o).toLocaleString('en')}/s   InMemoryProvider ${Math.round(m).toLocaleString('en')}/s   ratio ${(o / m).toFixed(2)}×`);
  }
  const direct = median([0, 1, 2].map(() => rateSync((i) => evaluateFlag(snapshot, 'targeted', { targetingKey: keys[i & 1023]!, email: 'a@example.com' }))));
  console.log(`  evaluateFlag alone (targeted, no SDK): ${Math.round(direct).toLocaleString('en')}/s`);
  await OpenFeature.close();
  stream.close();
}
