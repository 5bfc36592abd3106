/**
 * The edge's /openapi.json (its own API: purge and warm) is valid OpenAPI
 * 3.1 and true: requests generated from its schemas with a service token
 * never get a 5xx, an undocumented status, or a body off its schema.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ContractChecker, unresolvedRefs, type OpenApiDoc } from '../../../scripts/test/openapi/contract.ts';
import { startEdge, startOrigin, type Origin, type TestEdge } from './support.ts';

describe('edge OpenAPI', () => {
  let origin: Origin;
  let edge: TestEdge;
  let doc: OpenApiDoc;
  let token: string;
  beforeAll(async () => {
    origin = await startOrigin();
    edge = await startEdge(origin.url);
    token = await edge.serviceToken();
    doc = (await (await fetch(`${edge.url}/openapi.json`)).json()) as OpenApiDoc;
  });
  afterAll(async () => {
    await edge?.stop();
    await origin?.close();
  });

  it('when the document is validated, then it is OpenAPI 3.1 and every $ref resolves', async () => {
    const result = await new Validator().validate(doc as never);
    expect({ valid: result.valid, errors: result.errors }).toEqual({ valid: true, errors: undefined });
    expect(unresolvedRefs(doc)).toEqual([]);
  });

  it('when requests are generated from the document, then no answer is a 5xx, undocumented, or off its schema', async () => {
    const checker = new ContractChecker({ service: 'edge', baseUrl: edge.url, doc, numRuns: 15, extraHeaders: () => ({ authorization: `Bearer ${token}` }) });
    const result = await checker.check();
    expect(result.violations.map((v) => `${v.operation} → ${v.status}: ${v.problem}\n  request: ${JSON.stringify(v.request)}\n  response: ${v.response}`).join('\n\n')).toBe('');
    expect(result.operations).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
