import { describe, expect, it } from '@jest/globals';
import { flagIssues } from './validate.ts';

const env = { enabled: true, offVariant: 'off', rules: [], fallthrough: { variant: 'on' } };

describe('flagIssues', () => {
  it('when the flag is consistent, then there is no issue', () => {
    expect(flagIssues({ type: 'boolean', variants: { on: true, off: false }, environments: { production: env } }, new Set())).toEqual([]);
  });

  it('when values, variants, weights, rule ids or segments are wrong, then each is named by its path', () => {
    const issues = flagIssues(
      {
        type: 'number',
        variants: { on: 1, off: 'zero' },
        environments: {
          production: {
            enabled: true,
            offVariant: 'gone',
            rules: [
              { id: 'r', clauses: [{ segment: 'nobody', negate: false }], serve: { variant: 'on' } },
              { id: 'r', clauses: [], serve: { rollout: [{ variant: 'on', weight: 33.333 }, { variant: 'off', weight: 66.666 }] } },
            ],
            fallthrough: { rollout: [{ variant: 'on', weight: 10.001 }, { variant: 'off', weight: 89.999 }] },
          },
        },
      },
      new Set(['beta']),
    );
    expect(issues).toEqual([
      'variants.off: not a number',
      'environments.production.offVariant: unknown variant gone',
      'environments.production.rules.0: unknown segment nobody',
      'environments.production.rules.1.id: r used twice',
      'environments.production.rules.1.serve.rollout: weights sum to 99.999, not 100',
    ]);
  });
});
