/**
 * A/B experiments against real PostgreSQL and Kafka: exposures filed once
 * per key and relayed to Kafka through the outbox, no result before the
 * minimum sample, then the z-test per variant and the sample-ratio check,
 * which flags an exposure stream that does not match the rollout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { evaluateFlag, type Snapshot } from '@bulwark/openfeature-provider/evaluation';
import { eventually, kafkaBrokers, suffix } from '@bulwark/test-support';
import { ADMIN, call, setupFlags, type TestFlags } from './support.ts';

const rolloutFlag = {
  type: 'string',
  variants: { control: 'one-page', treatment: 'two-page' },
  environments: { production: { enabled: true, offVariant: 'control', rules: [], fallthrough: { rollout: [{ variant: 'control', weight: 50 }, { variant: 'treatment', weight: 50 }] } } },
};

describe('experiments', () => {
  let env: TestFlags;
  let url: string;
  beforeAll(async () => {
    env = await setupFlags();
    ({ url } = await env.start({ KAFKA_BROKERS: kafkaBrokers().join(','), FLAGS_TOPIC: `flags.events.${suffix(8)}`, OUTBOX_POLL_MS: '50' }));
    expect((await call(url, 'PUT', '/v1/flags/checkout-flow', rolloutFlag, ADMIN)).status).toBe(201);
  });
  afterAll(() => env.cleanup());

  it('when an experiment runs, then its flag is marked in the snapshot, exposures count once per key, results wait for the minimum sample, then compare variants', async () => {
    const started = await call(url, 'PUT', '/v1/experiments/checkout-test', { flag: 'checkout-flow', controlVariant: 'control', metric: 'purchase', minSamplePerVariant: 200 }, ADMIN);
    expect(started.status).toBe(201);
    const snapshot = (await call(url, 'GET', '/v1/snapshot')).body as Snapshot;
    expect(snapshot.flags['checkout-flow']!.experiment).toEqual({ key: 'checkout-test' });

    const assign = (keys: string[]) =>
      keys.map((targetingKey) => {
        const r = evaluateFlag(snapshot, 'checkout-flow', { targetingKey });
        if (!r.ok || r.experiment !== 'checkout-test') throw new Error('expected an exposure');
        return { experiment: 'checkout-test', flag: 'checkout-flow', variant: r.variant, targetingKey, environment: 'production' };
      });
    const first = assign(Array.from({ length: 300 }, (_, i) => `user-${i}`));
    const sent = await call(url, 'POST', '/v1/exposures', { exposures: first });
    expect(sent).toMatchObject({ status: 202, body: { accepted: 300, new: 300 } });
    expect((await call(url, 'POST', '/v1/exposures', { exposures: first.slice(0, 10) })).body).toEqual({ accepted: 10, new: 0 });

    const early = await call(url, 'GET', '/v1/experiments/checkout-test/results');
    expect(early.body).toMatchObject({ ready: false, sampleRatio: null });
    expect(early.body.variants.every((v: { rate: unknown; vsControl: unknown }) => v.rate === null && v.vsControl === null)).toBe(true);

    const all = [...first, ...assign(Array.from({ length: 700 }, (_, i) => `user-${300 + i}`))];
    await call(url, 'POST', '/v1/exposures', { exposures: all.slice(300) });
    // Treatment converts every 3rd key, control every 10th: a difference the z-test must find.
    const conversions = all.filter((e, i) => (e.variant === 'treatment' ? i % 3 === 0 : i % 10 === 0)).map((e) => ({ event: 'purchase', targetingKey: e.targetingKey }));
    expect((await call(url, 'POST', '/v1/conversions', { conversions })).status).toBe(202);

    const results = await call(url, 'GET', '/v1/experiments/checkout-test/results');
    expect(results.body).toMatchObject({ ready: true, alpha: 0.05, sampleRatio: { mismatch: false, degreesOfFreedom: 1 } });
    const [control, treatment] = results.body.variants;
    expect(control).toMatchObject({ variant: 'control', vsControl: null, expectedShare: 0.5 });
    expect(control.exposures + treatment.exposures).toBe(1_000);
    expect(treatment.vsControl).toMatchObject({ significant: true });
    expect(treatment.vsControl.pValue).toBeLessThan(0.001);

    // Exposures leave through the outbox to Kafka.
    await eventually('exposures relayed to Kafka', async () => (await env.db.query<{ n: number }>("SELECT count(*)::int AS n FROM flags_events_outbox WHERE published_at IS NULL")).rows[0]!.n, (n) => n === 0);
    const { rows } = await env.db.query<{ type: string; n: number }>('SELECT type, count(*)::int AS n FROM flags_events_outbox GROUP BY type ORDER BY type');
    expect(rows).toEqual([{ type: 'experiment-changed', n: 1 }, { type: 'exposure', n: 1_000 }, { type: 'flag-changed', n: 1 }]);
  });

  it('when one variant gets exposures the rollout does not explain, then the sample-ratio check reports a mismatch', async () => {
    const snapshot = (await call(url, 'GET', '/v1/snapshot')).body as Snapshot;
    const extra = Array.from({ length: 600 }, (_, i) => `late-${i}`)
      .map((targetingKey) => ({ targetingKey, r: evaluateFlag(snapshot, 'checkout-flow', { targetingKey }) }))
      .filter(({ r }) => r.ok && r.variant === 'control')
      .map(({ targetingKey }) => ({ experiment: 'checkout-test', flag: 'checkout-flow', variant: 'control', targetingKey, environment: 'production' }));
    await call(url, 'POST', '/v1/exposures', { exposures: extra });
    const results = await call(url, 'GET', '/v1/experiments/checkout-test/results');
    expect(results.body.sampleRatio).toMatchObject({ mismatch: true });
    expect(results.body.sampleRatio.pValue).toBeLessThan(0.001);
  });

  it('when the experiment is stopped, then its flag is no longer marked and a second stop is 409', async () => {
    expect((await call(url, 'POST', '/v1/experiments/checkout-test/stop', undefined, ADMIN)).body.status).toBe('stopped');
    expect(((await call(url, 'GET', '/v1/snapshot')).body as Snapshot).flags['checkout-flow']!.experiment).toBeUndefined();
    expect((await call(url, 'POST', '/v1/experiments/checkout-test/stop', undefined, ADMIN)).body.code).toBe('FLAGS_EXPERIMENT_CONFLICT');
    expect((await call(url, 'PUT', '/v1/experiments/other', { flag: 'checkout-flow', controlVariant: 'nobody', metric: 'purchase' }, ADMIN)).body.code).toBe('FLAGS_EXPERIMENT_INVALID');
  });
});
