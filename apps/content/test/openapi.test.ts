/**
 * The content's /openapi.json is valid OpenAPI 3.1 and true: requests
 * generated from its schemas (the contract checker of
 * scripts/test/openapi-contract) as a verified user of the test tenant never
 * get a 5xx, an undocumented status, or a body off its schema.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { TEST_TENANT } from '@bulwark/test-support';
import { ContractChecker, unresolvedRefs, type OpenApiDoc } from '../../../scripts/test/openapi/contract.ts';
import { setupContent, type TestContent } from './support.ts';

describe('content OpenAPI', () => {
  let env: TestContent;
  let url: string;
  let doc: OpenApiDoc;
  beforeAll(async () => {
    env = await setupContent();
    ({ url } = await env.start());
    doc = (await (await fetch(`${url}/openapi.json`)).json()) as OpenApiDoc;
  });
  afterAll(() => env.cleanup());

  it('when the document is validated, then it is OpenAPI 3.1 and every $ref resolves', async () => {
    const result = await new Validator().validate(doc as never);
    expect({ valid: result.valid, errors: result.errors }).toEqual({ valid: true, errors: undefined });
    expect(unresolvedRefs(doc)).toEqual([]);
  });

  it('when requests are generated from the document, then no answer is a 5xx, undocumented, or off its schema', async () => {
    const checker = new ContractChecker({ service: 'content', baseUrl: url, doc, numRuns: 15, extraHeaders: () => ({ 'x-auth-tenant': TEST_TENANT, 'x-auth-sub': 'contract', 'x-auth-roles': 'moderator' }) });
    const result = await checker.check();
    expect(result.violations.map((v) => `${v.operation} → ${v.status}: ${v.problem}\n  request: ${JSON.stringify(v.request)}\n  response: ${v.response}`).join('\n\n')).toBe('');
    expect(result.operations).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
