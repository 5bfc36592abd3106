import { describe, expect, it } from '@jest/globals';
import { ClientLabels, lifecycleOf } from './versioning.ts';
import type { RouteConfig } from './routes-file.ts';

const route = (lifecycle: RouteConfig['lifecycle']): RouteConfig =>
  ({ id: 'orders-v1', version: 'v1', match: { prefix: '/orders' }, upstream: 'orders', upstreamAuthenticates: false, rateLimits: [], websocket: false, lifecycle }) as RouteConfig;

describe('lifecycleOf', () => {
  it('when a route is deprecated with a sunset and successor, then the three headers are set', () => {
    const l = lifecycleOf(route({ deprecated: '2025-01-01T00:00:00Z', sunset: '2026-06-30T00:00:00Z', successor: '/v2/orders', retired: false }));
    expect(l.headers).toEqual({ deprecation: '@1735689600', sunset: 'Tue, 30 Jun 2026 00:00:00 GMT', link: '</v2/orders>; rel="successor-version"' });
    expect(l.retired).toBeUndefined();
  });

  it('when a route is retired, then a 410 naming the successor is prepared', () => {
    const l = lifecycleOf(route({ successor: '/v2/orders', retired: true }));
    expect(l.retired?.status).toBe(410);
    expect(l.retired?.extensions).toEqual({ successor: '/v2/orders' });
  });
});

describe('ClientLabels', () => {
  it('when more clients than the bound call, then later ones share "other" and known ones keep their name', () => {
    const labels = new ClientLabels(['mobile-app'], 2);
    expect(['a', 'b', 'c', 'a', 'mobile-app', undefined].map((c) => labels.labelOf(c))).toEqual(['a', 'b', 'other', 'a', 'mobile-app', 'anonymous']);
  });
});
