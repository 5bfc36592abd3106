/**
 * The read API through real HTTP: inclusion and consistency proofs and the
 * signed tree heads they refer to, checked by an independent
 * implementation written here from RFC 9162's recursive definitions
 * (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 SUBPROOF): a recursive rebuild of
 * the roots, not the service's iterative verifiers. Also: readers need the
 * auditor or admin role, a tenant sees its own entries, bad input is
 * problem+json.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PROBLEM } from '@bulwark/test-support';
import { signTreeHead } from '../src/domain/tree-heads.ts';
import { AUDITOR, call, OTHER_TENANT, setupAudit, TEST_TENANT, type TestAudit } from './support.ts';

// ---- An independent RFC 9162 implementation (the test's own) ----
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const node = (l: Buffer, r: Buffer) => sha256(Buffer.from([1]), l, r);
const leaf = (entry: Buffer) => sha256(Buffer.from([0]), entry);
const largestPowerOfTwoBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));

/** Rebuilds MTH(D[n]) from leaf m's hash and its PATH, consuming the path from its end (the top of the tree). */
function rootFromPath(m: number, n: number, leafHash: Buffer, path: Buffer[]): Buffer {
  if (n === 1) {
    if (path.length !== 0) throw new Error('path too long');
    return leafHash;
  }
  if (path.length === 0) throw new Error('path too short');
  const k = largestPowerOfTwoBelow(n);
  const sibling = path[path.length - 1]!;
  const rest = path.slice(0, -1);
  return m < k ? node(rootFromPath(m, k, leafHash, rest), sibling) : node(sibling, rootFromPath(m - k, n - k, leafHash, rest));
}

/** Rebuilds [MTH(D[0:m]), MTH(D[n])] from SUBPROOF(m, D[n], b), given the old root for the b = true leaf case. */
function rootsFromSubproof(m: number, n: number, complete: boolean, proof: Buffer[], oldRoot: Buffer): [Buffer, Buffer] {
  if (m === n) {
    if (complete) {
      if (proof.length !== 0) throw new Error('proof too long');
      return [oldRoot, oldRoot];
    }
    if (proof.length !== 1) throw new Error('proof length wrong');
    return [proof[0]!, proof[0]!];
  }
  if (proof.length === 0) throw new Error('proof too short');
  const k = largestPowerOfTwoBelow(n);
  const sibling = proof[proof.length - 1]!;
  const rest = proof.slice(0, -1);
  if (m <= k) {
    const [oldPart, newPart] = rootsFromSubproof(m, k, complete, rest, oldRoot);
    return [oldPart, node(newPart, sibling)];
  }
  const [oldPart, newPart] = rootsFromSubproof(m - k, n - k, false, rest, oldRoot);
  return [node(sibling, oldPart), node(sibling, newPart)];
}

const b = (s: string) => Buffer.from(s, 'base64');

interface TreeHeadJson {
  treeSize: number;
  timestamp: string;
  rootHash: string;
  chainHead: string;
  keyId: string;
  signature: string;
}

let audit: TestAudit;
let publicKeyPem: string;

function treeHeadSigned(h: TreeHeadJson): boolean {
  const text = ['bulwark-audit-sth:v1', h.treeSize, h.timestamp, b(h.rootHash).toString('hex'), b(h.chainHead).toString('hex')].join('\n');
  return verify(null, Buffer.from(text), createPublicKey(publicKeyPem), b(h.signature));
}

beforeAll(async () => {
  audit = await setupAudit();
  await audit.appendSample(5);
  await audit.appendSample(2, OTHER_TENANT);
  await signTreeHead(audit.app.pool, audit.app.signer); // size 7
  await audit.appendSample(14);
  await signTreeHead(audit.app.pool, audit.app.signer); // size 21
  const key = await call(audit.url, 'GET', '/v1/audit/public-key', undefined, AUDITOR);
  publicKeyPem = key.body.publicKeyPem;
});

afterAll(async () => {
  await audit.cleanup();
});

describe('audit proofs through the API', () => {
  it('when every entry of the tenant is proven in the latest signed tree, then each path rebuilds the signed root', async () => {
    const head = await call(audit.url, 'GET', '/v1/audit/tree-heads/latest', undefined, AUDITOR);
    expect(head.status).toBe(200);
    expect(head.body.treeSize).toBe(21);
    expect(treeHeadSigned(head.body)).toBe(true);
    const list = await call(audit.url, 'GET', '/v1/audit/entries?limit=500', undefined, AUDITOR);
    const seqs = (list.body.entries as { seq: number; tenant: string }[]).map((e) => e.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, ...Array.from({ length: 14 }, (_, i) => 7 + i)]); // not OTHER_TENANT's 5 and 6
    for (const e of list.body.entries as { seq: number; body: string; leafHash: string }[]) {
      expect(leaf(Buffer.from(e.body, 'utf8')).equals(b(e.leafHash))).toBe(true);
      const proof = await call(audit.url, 'GET', `/v1/audit/proofs/inclusion?seq=${e.seq}`, undefined, AUDITOR);
      expect(proof.status).toBe(200);
      expect(rootFromPath(e.seq, proof.body.treeHead.treeSize, b(e.leafHash), proof.body.auditPath.map(b)).equals(b(head.body.rootHash))).toBe(true);
    }
  });

  it('when an entry is proven in an older signed tree, then its path rebuilds that root', async () => {
    const proof = await call(audit.url, 'GET', '/v1/audit/proofs/inclusion?seq=3&treeSize=7', undefined, AUDITOR);
    expect(proof.status).toBe(200);
    expect(treeHeadSigned(proof.body.treeHead)).toBe(true);
    expect(rootFromPath(3, 7, b(proof.body.leafHash), proof.body.auditPath.map(b)).equals(b(proof.body.treeHead.rootHash))).toBe(true);
  });

  it('when consistency between the signed trees is proven, then the proof rebuilds both signed roots', async () => {
    for (const first of [0, 7]) {
      const res = await call(audit.url, 'GET', `/v1/audit/proofs/consistency?first=${first}&second=21`, undefined, AUDITOR);
      expect(res.status).toBe(200);
      expect(treeHeadSigned(res.body.first) && treeHeadSigned(res.body.second)).toBe(true);
      if (first === 0) {
        expect(res.body.proof).toEqual([]);
        continue;
      }
      const [oldRoot, newRoot] = rootsFromSubproof(first, 21, true, res.body.proof.map(b), b(res.body.first.rootHash));
      expect(oldRoot.equals(b(res.body.first.rootHash))).toBe(true);
      expect(newRoot.equals(b(res.body.second.rootHash))).toBe(true);
      // Any proof element changed: the rebuilt roots are no longer the signed ones.
      for (let i = 0; i < res.body.proof.length; i++) {
        const changed = res.body.proof.map(b);
        changed[i] = sha256(changed[i]);
        const [o, n] = rootsFromSubproof(first, 21, true, changed, b(res.body.first.rootHash));
        expect(o.equals(b(res.body.first.rootHash)) && n.equals(b(res.body.second.rootHash))).toBe(false);
      }
    }
  });

  it("when another tenant's entry or an unsigned size is asked for, then 404 and 422 or 409 problems answer", async () => {
    const other = await call(audit.url, 'GET', '/v1/audit/proofs/inclusion?seq=5', undefined, AUDITOR);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toContain(PROBLEM);
    expect(other.body.code).toBe('AUDIT_ENTRY_NOT_FOUND');
    expect((await call(audit.url, 'GET', '/v1/audit/proofs/inclusion?seq=3&treeSize=6', undefined, AUDITOR)).body.code).toBe('AUDIT_TREE_SIZE_INVALID');
    expect((await call(audit.url, 'GET', '/v1/audit/proofs/consistency?first=9&second=7', undefined, AUDITOR)).body.code).toBe('AUDIT_TREE_SIZE_INVALID');
    await audit.appendSample(1);
    expect((await call(audit.url, 'GET', '/v1/audit/proofs/inclusion?seq=21', undefined, AUDITOR)).body.code).toBe('AUDIT_NOT_SIGNED_YET');
  });

  it('when the caller lacks the auditor and admin roles or sends bad input, then problem+json 403 or 400 answers', async () => {
    const customer = await call(audit.url, 'GET', '/v1/audit/entries', undefined, { ...AUDITOR, 'x-auth-roles': 'customer' });
    expect(customer.status).toBe(403);
    expect(customer.body.code).toBe('AUDIT_READER_ONLY');
    const admin = await call(audit.url, 'GET', '/v1/audit/entries?limit=1', undefined, { ...AUDITOR, 'x-auth-roles': 'admin', 'x-auth-tenant': TEST_TENANT });
    expect(admin.status).toBe(200);
    const bad = await call(audit.url, 'GET', '/v1/audit/proofs/inclusion?seq=-1', undefined, AUDITOR);
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain(PROBLEM);
  });
});
