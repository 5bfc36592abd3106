/**
 * The files service's /openapi.json (generated from the zod schemas) is
 * valid OpenAPI 3.1 and true: requests generated from it (valid and
 * near-valid) get only documented statuses with bodies of their schemas,
 * never a 5xx, errors as problem+json (the platform contract checker of
 * scripts/test/openapi).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { TEST_TENANT } from '@bulwark/test-support';
import { ContractChecker, operationsOf, unresolvedRefs, type OpenApiDoc } from '../../../scripts/test/openapi/contract.ts';
import { setupFiles, USER, type TestFiles } from './support.ts';

let t: TestFiles;
let url: string;
let doc: OpenApiDoc;
beforeAll(async () => {
  t = await setupFiles();
  ({ url } = await t.start());
  doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDoc;
}, 600_000);
afterAll(async () => {
  await t.cleanup();
});

describe('files OpenAPI', () => {
  it('when the document is validated, then it is OpenAPI 3.1, every $ref resolves and errors are problem+json', async () => {
    const result = await new Validator().validate(doc as never);
    expect({ valid: result.valid, errors: result.errors }).toEqual({ valid: true, errors: undefined });
    expect(unresolvedRefs(doc)).toEqual([]);
    const paths = operationsOf(doc).map((o) => `${o.method.toUpperCase()} ${o.path}`);
    expect(paths).toEqual(expect.arrayContaining(['POST /v1/files', 'POST /v1/files/{id}/complete', 'GET /v1/files/{id}/download', 'DELETE /v1/files/{id}', 'GET /v1/files/quota']));
    for (const { op } of operationsOf(doc)) {
      for (const [status, response] of Object.entries(op.responses as Record<string, { content?: Record<string, unknown> }>)) {
        if (/^[45]/.test(status)) expect(Object.keys(response.content ?? {})).toEqual(['application/problem+json']);
      }
    }
  });

  it('when requests are generated from the document, then no answer is a 5xx, undocumented, or off its schema', async () => {
    const checker = new ContractChecker({ service: 'files', baseUrl: url, doc, numRuns: 25, extraHeaders: () => ({ 'x-auth-tenant': TEST_TENANT, 'x-auth-sub': USER }) });
    const result = await checker.check();
    expect(result.violations.map((v) => `${v.operation} → ${v.status}: ${v.problem}\n  request: ${JSON.stringify(v.request)}\n  response: ${v.response}`).join('\n\n')).toBe('');
    expect(result.requests).toBeGreaterThan(50);
  }, 240_000);
});
