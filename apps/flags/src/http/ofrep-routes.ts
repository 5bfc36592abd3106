/**
 * OpenFeature Remote Evaluation Protocol (OFREP v1) for clients without the
 * platform's provider: single and bulk evaluation with the same
 * `evaluateFlag` the provider runs locally. The environment is the
 * context's `environment` attribute (default DEFAULT_ENVIRONMENT). Bulk
 * answers carry an ETag (tenant revision + context) and 304 on If-None-Match,
 * as OFREP's client-side polling expects. A failed single evaluation is
 * problem+json (404 or 400) that also carries OFREP's members (`key`,
 * `errorCode`, `errorDetails`), so both kinds of client read it.
 */
import { createHash } from 'node:crypto';
import { evaluateFlag, type EvaluationContext, type Resolution } from '@bulwark/openfeature-provider/evaluation';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { requireTenant } from '../domain/flags.ts';
import { flagsError } from '../errors.ts';
import { FlagKeyParams, OfrepBody, OfrepBulkResponse, OfrepSingleResponse } from './schemas.ts';
import type { SnapshotRouteDeps } from './snapshot-routes.ts';

function answer(r: Resolution) {
  if (!r.ok) return { key: r.key, errorCode: r.errorCode, errorDetails: r.message };
  return { key: r.key, value: r.value, reason: r.reason, variant: r.variant, metadata: { version: r.flagVersion, ...(r.experiment ? { experiment: r.experiment } : {}) } };
}

export function registerOfrepRoutes(r: RouteRegistrar, deps: SnapshotRouteDeps): void {
  const environmentOf = (context: Record<string, unknown>) => (typeof context.environment === 'string' ? context.environment : deps.defaultEnvironment);

  r.post('/ofrep/v1/evaluate/flags/:key', {
    summary: 'OFREP: evaluate one flag for a context',
    errors: ['FLAGS_TENANT_REQUIRED', 'FLAGS_OFREP_FLAG_NOT_FOUND', 'FLAGS_OFREP_EVALUATION_FAILED'],
    params: FlagKeyParams,
    body: OfrepBody,
    responses: { 200: OfrepSingleResponse },
    handler: async ({ params, body }) => {
      const tenant = requireTenant();
      const { snapshot } = await deps.hub.current(tenant, environmentOf(body.context));
      const result = evaluateFlag(snapshot, params.key, body.context as EvaluationContext);
      deps.metrics.evaluations.inc({ outcome: result.ok ? result.reason : result.errorCode });
      if (result.ok) return { status: 200, body: answer(result) as { key: string; value: unknown; reason: string; variant: string; metadata: Record<string, unknown> } };
      const failure = { key: result.key, errorCode: result.errorCode, errorDetails: result.message };
      throw result.errorCode === 'FLAG_NOT_FOUND' ? flagsError('FLAGS_OFREP_FLAG_NOT_FOUND', result.message, failure) : flagsError('FLAGS_OFREP_EVALUATION_FAILED', result.message, failure);
    },
  });

  r.post('/ofrep/v1/evaluate/flags', {
    summary: 'OFREP: evaluate every flag of the environment for a context (ETag; 304 on If-None-Match)',
    errors: ['FLAGS_TENANT_REQUIRED'],
    body: OfrepBody,
    headers: [{ name: 'If-None-Match', description: 'The ETag of an earlier bulk answer for the same context: 304 when nothing changed.' }],
    responses: { 200: OfrepBulkResponse, 304: null },
    handler: async ({ body, req }) => {
      const tenant = requireTenant();
      const { snapshot } = await deps.hub.current(tenant, environmentOf(body.context));
      const etag = `"${snapshot.revision}-${createHash('sha256').update(JSON.stringify(body.context)).digest('base64url').slice(0, 16)}"`;
      if (req.get('if-none-match') === etag) return { status: 304, headers: { etag } };
      const flags = Object.keys(snapshot.flags).map((key) => answer(evaluateFlag(snapshot, key, body.context as EvaluationContext)));
      deps.metrics.evaluations.inc({ outcome: 'BULK' });
      return { status: 200, body: { flags } as never, headers: { etag } };
    },
  });
}
