/** What other workspaces (tests, benches, the journey) may use from audit. */
export { createAuditApp, MIGRATIONS_DIR, APPEND_ONLY_TABLES, type AuditApp, type AuditAppOptions } from './app.ts';
export { auditConfigSchema, loadAuditConfig, type AuditConfig } from './config.ts';
export { appendEvents, type AuditEvent } from './domain/append.ts';
export { verifyLog, type VerifyResult, type Finding } from './domain/verify-log.ts';
export { loadSigner, verifierKey, publicKeyPath, type LogSigner, type LogVerifierKey } from './domain/signing-key.ts';
export { signTreeHead } from './domain/tree-heads.ts';
export { leafHash, nodeHash, verifyInclusion, verifyConsistency } from './domain/merkle.ts';
export { treeHeadText } from './domain/entry.ts';
