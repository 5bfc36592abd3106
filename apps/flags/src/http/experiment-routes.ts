/** Thin routes of experiments, exposures and conversions. */
import type { RouteRegistrar } from '@bulwark/service-kit';
import { endExperiment, experimentResults, recordConversions, recordExposures, startExperiment } from '../domain/experiments.ts';
import type { FlagsDeps } from '../domain/flags.ts';
import { actorOf, ADMIN_HEADERS, requireAdmin } from './admin.ts';
import { ConversionsBody, ConversionsResponse, ExperimentBody, ExperimentResponse, ExposuresBody, ExposuresResponse, FlagKeyParams, ResultsResponse } from './schemas.ts';

export function registerExperimentRoutes(r: RouteRegistrar, deps: FlagsDeps & { minSamplePerVariant: number }): void {
  const admin = { headers: ADMIN_HEADERS, middleware: [requireAdmin] };
  r.put('/v1/experiments/:key', {
    summary: "Start an A/B experiment on a flag's percentage rollout in one environment (admin; audited)",
    errors: ['FLAGS_ADMIN_ONLY', 'FLAGS_TENANT_REQUIRED', 'FLAGS_FLAG_NOT_FOUND', 'FLAGS_UNKNOWN_ENVIRONMENT', 'FLAGS_EXPERIMENT_INVALID', 'FLAGS_EXPERIMENT_CONFLICT'],
    params: FlagKeyParams,
    body: ExperimentBody,
    ...admin,
    responses: { 201: ExperimentResponse },
    handler: async ({ params, body, req }) => ({
      status: 201,
      body: await startExperiment(deps, actorOf(req), params.key, { ...body, minSamplePerVariant: body.minSamplePerVariant ?? deps.minSamplePerVariant }),
    }),
  });
  r.post('/v1/experiments/:key/stop', {
    summary: 'Stop an experiment: no more exposures; its results stay (admin; audited)',
    errors: ['FLAGS_ADMIN_ONLY', 'FLAGS_TENANT_REQUIRED', 'FLAGS_EXPERIMENT_NOT_FOUND', 'FLAGS_EXPERIMENT_CONFLICT'],
    params: FlagKeyParams,
    ...admin,
    responses: { 200: ExperimentResponse },
    handler: async ({ params, req }) => ({ status: 200, body: await endExperiment(deps, actorOf(req), params.key) }),
  });
  r.get('/v1/experiments/:key/results', {
    summary: 'Results per variant: exposures, conversions, rate and the z-test against control, and the sample-ratio check; comparisons only past the minimum sample',
    errors: ['FLAGS_TENANT_REQUIRED', 'FLAGS_EXPERIMENT_NOT_FOUND'],
    params: FlagKeyParams,
    responses: { 200: ResultsResponse },
    handler: async ({ params }) => ({ status: 200, body: await experimentResults(deps, params.key) }),
  });
  r.post('/v1/exposures', {
    summary: 'Exposures of experiment flags (the provider sends them in batches): filed once per targeting key, new ones sent to Kafka',
    errors: ['FLAGS_TENANT_REQUIRED'],
    body: ExposuresBody,
    responses: { 202: ExposuresResponse },
    handler: async ({ body }) => ({ status: 202, body: await recordExposures(deps, body.exposures) }),
  });
  r.post('/v1/conversions', {
    summary: "Conversion events (e.g. checkout) of targeting keys, counted against experiments whose metric they name after the key's exposure",
    errors: ['FLAGS_TENANT_REQUIRED'],
    body: ConversionsBody,
    responses: { 202: ConversionsResponse },
    handler: async ({ body }) => ({ status: 202, body: { accepted: await recordConversions(deps, body.conversions) } }),
  });
}
