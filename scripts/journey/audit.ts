/**
 * The journey's audit step: the new customer's login is in the audit log
 * (identity's outbox → Kafka → audit), read by the demo admin through the
 * gateway, with an inclusion proof in a signed tree head that verifies
 * here (RFC 9162 §2.1.3.2, Ed25519 over the tree head with the log's
 * published key). Tree heads are signed every AUDIT_TREE_HEAD_INTERVAL_MS
 * (10 s by default): the proof is polled until one covers the login.
 */
import { createPublicKey, verify } from 'node:crypto';
import { leafHash, treeHeadText, verifyInclusion } from '@bulwark/audit';
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

const LOGIN = 'com.bulwark.identity.login-succeeded';

export async function auditTheLogin(urls: PlatformUrls, session: { customer: string; admin: string }, step: (s: Step) => void): Promise<void> {
  const sub = (JSON.parse(Buffer.from(session.customer.split('.')[1] ?? '', 'base64url').toString()) as { sub: string }).sub;
  const admin = { authorization: `Bearer ${session.admin}` };
  const get = async (name: string, path: string): Promise<Step> => ({ name, method: 'GET', path, ...(await send(urls.gateway, 'GET', path, undefined, admin)) });
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);

  const entriesPath = `/v1/audit/entries?type=${encodeURIComponent(LOGIN)}&actor=${encodeURIComponent(sub)}`;
  let listed = await get("the admin finds the customer's login in the audit log", entriesPath);
  await waitFor(async () => ((listed = await get(listed.name, entriesPath)).body as { entries?: unknown[] } | undefined)?.entries?.length !== 0 && listed.status === 200, 'the login in the audit log', 60_000, 250).catch(() => undefined);
  step(listed);
  const entry = (listed.body as { entries?: { seq: number; body: string; leafHash: string }[] }).entries?.[0];
  if (listed.status !== 200 || !entry) throw fail(listed, 'no login entry');

  const proofPath = `/v1/audit/proofs/inclusion?seq=${entry.seq}`;
  let proof = await get('its inclusion proof in a signed tree head', proofPath);
  await waitFor(async () => (proof = await get(proof.name, proofPath)).status === 200, 'a signed tree head covering the login', 30_000, 500).catch(() => undefined);
  step(proof);
  if (proof.status !== 200) throw fail(proof, 'no proof');
  const p = proof.body as { leafIndex: number; auditPath: string[]; treeHead: { treeSize: number; timestamp: string; rootHash: string; chainHead: string; signature: string } };
  const key = await get("the log's public key", '/v1/audit/public-key');
  step(key);
  if (key.status !== 200) throw fail(key, 'no key');

  const b = (s: string) => Buffer.from(s, 'base64');
  const h = p.treeHead;
  const signed = verify(null, treeHeadText({ treeSize: h.treeSize, timestamp: h.timestamp, rootHash: b(h.rootHash), chainHead: b(h.chainHead) }), createPublicKey((key.body as { publicKeyPem: string }).publicKeyPem), b(h.signature));
  const leaf = leafHash(Buffer.from(entry.body, 'utf8'));
  const included = leaf.equals(b(entry.leafHash)) && verifyInclusion(leaf, p.leafIndex, h.treeSize, p.auditPath.map(b), b(h.rootHash));
  const verdict: Step = { name: 'the proof verifies against the signed tree head', method: 'GET', path: proofPath, status: signed && included ? 200 : 500, body: { seq: entry.seq, treeSize: h.treeSize, signed, included } };
  step(verdict);
  if (!signed || !included) throw fail(verdict, 'the login is not provably in the log');
}
