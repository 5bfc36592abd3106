import { describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { metricsFor, statementLabel } from './metrics.ts';

describe('statementLabel', () => {
  it('when no name is given, then the label is "unnamed"', () => {
    expect(statementLabel(metricsFor(new Registry()), undefined, 5)).toBe('unnamed');
  });

  it('when more distinct names arrive than the limit, then later ones become "other"', () => {
    const m = metricsFor(new Registry());
    expect(['a.1', 'a.2', 'a.3', 'a.1'].map((n) => statementLabel(m, n, 2))).toEqual(['a.1', 'a.2', 'other', 'a.1']);
  });

  it('when a name is not a plain identifier, then it is not used as a label', () => {
    expect(statementLabel(metricsFor(new Registry()), 'select * from t where id = 1', 10)).toBe('other');
  });

  it('when two pools share a registry, then metrics are created once', () => {
    const r = new Registry();
    expect(metricsFor(r)).toBe(metricsFor(r));
  });
});
