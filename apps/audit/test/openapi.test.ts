/**
 * audit's /openapi.json is valid OpenAPI 3.1 and true: requests generated
 * from its schemas (the contract checker of scripts/test/openapi-contract)
 * as a verified auditor of the test tenant, against a log with entries and
 * a signed tree head, never get a 5xx, an undocumented status, or a body off
 * its schema.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ContractChecker, unresolvedRefs, type OpenApiDoc } from '../../../scripts/test/openapi/contract.ts';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { AUDITOR, setupAudit, type TestAudit } from './support.ts';

describe('audit OpenAPI', () => {
  let audit: TestAudit;
  let doc: OpenApiDoc;
  beforeAll(async () => {
    audit = await setupAudit();
    await audit.appendSample(9);
    await signTreeHead(audit.app.pool, audit.app.signer);
    doc = (await (await fetch(`${audit.url}/openapi.json`)).json()) as OpenApiDoc;
  });
  afterAll(() => audit.cleanup());

  it('when the document is validated, then it is OpenAPI 3.1 and every $ref resolves', async () => {
    const result = await new Validator().validate(doc as never);
    expect({ valid: result.valid, errors: result.errors }).toEqual({ valid: true, errors: undefined });
    expect(unresolvedRefs(doc)).toEqual([]);
  });

  it('when requests are generated from the document, then no answer is a 5xx, undocumented, or off its schema', async () => {
    const checker = new ContractChecker({ service: 'audit', baseUrl: audit.url, doc, numRuns: 15, extraHeaders: () => AUDITOR });
    const result = await checker.check();
    expect(result.violations.map((v) => `${v.operation} → ${v.status}: ${v.problem}\n  request: ${JSON.stringify(v.request)}\n  response: ${v.response}`).join('\n\n')).toBe('');
    expect(result.operations).toBeGreaterThan(5);
  }, 120_000);
});
