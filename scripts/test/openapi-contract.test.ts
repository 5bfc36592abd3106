/**
 * Issue 24: every published OpenAPI document is valid, complete and true.
 * The platform runs in this process (openapi/platform.ts); each service's
 * /openapi.json and the gateway's aggregated one are validated as OpenAPI 3.1,
 * then requests generated from the schemas (valid and near-valid) are sent to
 * every operation: any 5xx, undocumented status or body that breaks its
 * declared schema fails the test, with the request that showed it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ContractChecker, operationsOf, unresolvedRefs, type OpenApiDoc, type Violation } from './openapi/contract.ts';
import { startPlatform, type Platform } from './openapi/platform.ts';

const RUNS = 25;

let platform: Platform;
const docs = new Map<string, OpenApiDoc>();

beforeAll(async () => {
  platform = await startPlatform();
  for (const s of platform.services) {
    const res = await fetch(`${s.url}/openapi.json`);
    expect(res.status).toBe(200);
    docs.set(s.name, (await res.json()) as OpenApiDoc);
  }
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

function format(violations: Violation[]): string {
  return violations.map((v) => `${v.service} ${v.operation} → ${v.status}: ${v.problem}\n  request: ${JSON.stringify(v.request)}\n  response: ${v.response}`).join('\n\n');
}

describe('published OpenAPI documents', () => {
  it('when each document is validated, then it is OpenAPI 3.1 and every $ref resolves', async () => {
    for (const [name, doc] of docs) {
      const result = await new Validator().validate(doc as never);
      expect({ name, valid: result.valid, errors: result.errors }).toEqual({ name, valid: true, errors: undefined });
      expect({ name, unresolved: unresolvedRefs(doc) }).toEqual({ name, unresolved: [] });
    }
  });

  it('when responses are read, then successes are described as what they are and errors as problem+json', () => {
    for (const [name, doc] of docs) {
      for (const { method, path, op } of operationsOf(doc)) {
        for (const [status, response] of Object.entries(op.responses as Record<string, { description: string; content?: Record<string, unknown> }>)) {
          const where = `${name} ${method} ${path} ${status}`;
          if (/^2/.test(status)) expect({ where, description: response.description }).not.toEqual({ where, description: 'Error' });
          if (/^[45]/.test(status) || status === 'default') expect({ where, types: Object.keys(response.content ?? {}) }).toEqual({ where, types: ['application/problem+json'] });
        }
      }
    }
  });

  it('when the services are read, then the 14 operations behind the Idempotency-Key middleware require the header', () => {
    const requiring = [...docs]
      .filter(([name]) => name !== 'gateway')
      .flatMap(([name, doc]) =>
        operationsOf(doc)
          .filter(({ op }) => ((op.parameters ?? []) as { name: string; in: string; required?: boolean }[]).some((p) => p.in === 'header' && p.name === 'Idempotency-Key' && p.required))
          .map(({ method, path }) => `${name} ${method.toUpperCase()} ${path}`),
      )
      .sort();
    expect(requiring).toEqual([
      'catalog POST /v1/carts/{id}/checkout',
      'inventory POST /v1/internal/reservations',
      'inventory POST /v1/internal/reservations/{id}/confirm',
      'inventory POST /v1/internal/reservations/{id}/release',
      'inventory POST /v1/skus/{sku}/adjustments',
      'orders POST /orders/{id}/checkout',
      'payments POST /v1/internal/payments',
      'payments POST /v1/internal/payments/{id}/capture',
      'payments POST /v1/internal/payments/{id}/refund',
      'payments POST /v1/internal/payments/{id}/void',
      'payments POST /v1/payments',
      'payments POST /v1/payments/{id}/capture',
      'payments POST /v1/payments/{id}/refund',
      'payments POST /v1/payments/{id}/void',
    ]);
  });

  it('when the gateway document is read, then it publishes the forwarded API with bearer security and names the missing upstreams', () => {
    const doc = docs.get('gateway')!;
    expect((doc.components as { securitySchemes?: unknown }).securitySchemes).toMatchObject({ bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } });
    const ops = operationsOf(doc);
    expect(ops.map((o) => o.path)).toEqual(expect.arrayContaining(['/admin/state', '/v1/orders', '/v1/orders/{id}', '/v1/orders/{id}/checkout']));
    const needsToken = ops.filter((o) => o.path.startsWith('/admin/') || platform.authRoutes.includes((o.op['x-bulwark-upstream'] as { route?: string } | undefined)?.route ?? ''));
    expect(needsToken.length).toBeGreaterThan(1);
    for (const o of needsToken) expect({ path: o.path, security: o.op.security }).toEqual({ path: o.path, security: [{ bearerAuth: expect.any(Array) }] });
    const upstreams = doc['x-bulwark-upstreams'] as Record<string, { status: string }>;
    for (const name of platform.missingUpstreams.filter((n) => n in upstreams)) expect(upstreams[name]!.status).toBe('missing');
    expect(upstreams.orders?.status).toBe('included');
  });

  it('when requests are generated from every document, then no answer is a 5xx, undocumented, or off its schema', async () => {
    const violations: Violation[] = [];
    const summary: string[] = [];
    for (const s of platform.services) {
      const checker = new ContractChecker({
        service: s.name,
        baseUrl: s.url,
        doc: docs.get(s.name)!,
        numRuns: RUNS,
        token: (roles) => platform.issuer.sign({ sub: `user-${randomUUID()}`, tenant: `t-${randomUUID()}`, roles }),
        // Spread the gateway's per-IP limit over many clients (TRUST_PROXY_HOPS=1).
        extraHeaders: () => ({ 'x-forwarded-for': `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}` }),
      });
      const result = await checker.check();
      summary.push(`${s.name}: ${result.operations} operations, ${result.requests} requests (${JSON.stringify(checker.statuses)}), ${result.violations.length} violations`);
      violations.push(...result.violations);
    }
    console.log(summary.join('\n'));
    expect(format(violations)).toBe('');
  }, 240_000);
});
