/**
 * Thin routes: validated input, the verified principal and tenant from the
 * gateway's x-auth-* headers, one use case, the answer.
 */
import type { Request, RequestHandler } from 'express';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { completeUpload, deleteFile, derivativeUrl, downloadUrl, getFile, requestUpload, resumeUpload, type FilesDeps } from '../domain/uploads.ts';
import { filesError } from '../errors.ts';
import { listFiles, usedBytes, type FileRecord } from '../store/files-store.ts';
import { DerivativeParams, DownloadResponse, FileIdParams, FileResponse, ListQuery, ListResponse, QuotaResponse, ResumeResponse, UploadBody, UploadResponse } from './schemas.ts';

const PRINCIPAL_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway from the access token); owner of what it uploads.', required: true },
  { name: 'x-auth-tenant', description: 'The verified tenant (set by the gateway); every file belongs to one.', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles; admin may delete any file of the tenant.', required: false },
] as const;

const requirePrincipal: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub') || !req.get('x-auth-tenant')) return next(filesError('FILES_PRINCIPAL_REQUIRED', 'files need a signed-in caller'));
  next();
};

const principal = (req: Request): { sub: string; tenant: string; roles: string[] } => ({
  sub: req.get('x-auth-sub')!,
  tenant: req.get('x-auth-tenant')!,
  roles: (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim()),
});

export const toFileResponse = (f: FileRecord): ReturnType<typeof FileResponse.parse> => ({
  id: f.id,
  name: f.name,
  contentType: f.declaredType,
  size: f.size,
  status: f.status,
  detectedType: f.detectedType,
  rejectReason: f.rejectReason,
  owner: f.owner,
  derivatives: f.derivatives,
  scanAttempts: f.scanAttempts,
  createdAt: f.createdAt,
  scannedAt: f.scannedAt,
});

export function registerRoutes(r: RouteRegistrar, deps: FilesDeps): void {
  const common = { headers: PRINCIPAL_HEADERS, middleware: [requirePrincipal] };
  const errors = (...codes: string[]) => ['FILES_PRINCIPAL_REQUIRED', ...codes];

  r.post('/v1/files', {
    summary: 'Ask to upload a file: type, size and quota are checked before any byte is sent; answers a pre-signed PUT into quarantine',
    errors: errors('FILES_TYPE_NOT_ALLOWED', 'FILES_TOO_LARGE', 'FILES_QUOTA_EXCEEDED'),
    ...common,
    body: UploadBody,
    responses: { 201: UploadResponse },
    handler: async ({ body, req }) => {
      const who = principal(req);
      const ticket = await requestUpload(deps, { tenant: who.tenant, owner: who.sub, ...body });
      return {
        status: 201,
        body: {
          file: toFileResponse(ticket.file),
          upload: { method: 'PUT' as const, ...(ticket.uploadUrl ? { url: ticket.uploadUrl } : {}), headers: ticket.uploadHeaders, ...(ticket.parts ? { parts: ticket.parts } : {}), expiresAt: ticket.file.uploadExpiresAt },
        },
        headers: { location: `/v1/files/${ticket.file.id}` },
      };
    },
  });
  // Before /v1/files/:id, which it would otherwise match.
  r.get('/v1/files/quota', {
    summary: "The tenant's bytes held against its quota, and the upload limits",
    errors: errors(),
    ...common,
    responses: { 200: QuotaResponse },
    handler: async () => ({
      status: 200,
      body: { usedBytes: await usedBytes(deps.pool), quotaBytes: deps.policy.quotaBytes, maxFileBytes: deps.policy.maxBytes, allowedTypes: [...deps.policy.allowedTypes] },
    }),
  });
  r.post('/v1/files/:id/complete', {
    summary: 'Say the PUT is done: the file enters quarantine and waits for its scan (202); idempotent',
    errors: errors('FILES_NOT_FOUND', 'FILES_NOT_UPLOADED', 'FILES_STORAGE_UNAVAILABLE'),
    ...common,
    params: FileIdParams,
    responses: { 202: FileResponse },
    handler: async ({ params }) => ({ status: 202, body: toFileResponse(await completeUpload(deps, params.id)) }),
  });
  r.get('/v1/files/:id/parts', {
    summary: 'Resume a multipart upload: the parts storage has, and fresh pre-signed PUTs for the missing ones',
    errors: errors('FILES_NOT_FOUND', 'FILES_NOT_UPLOADED', 'FILES_STORAGE_UNAVAILABLE'),
    ...common,
    params: FileIdParams,
    responses: { 200: ResumeResponse },
    handler: async ({ params }) => {
      const { file, received, missing } = await resumeUpload(deps, params.id);
      return { status: 200, body: { file: toFileResponse(file), received, missing } };
    },
  });
  r.get('/v1/files/:id', {
    summary: 'A file with its scan status',
    errors: errors('FILES_NOT_FOUND'),
    ...common,
    params: FileIdParams,
    responses: { 200: FileResponse },
    handler: async ({ params }) => ({ status: 200, body: toFileResponse(await getFile(deps.pool, params.id)) }),
  });
  r.get('/v1/files/:id/download', {
    summary: 'A pre-signed GET of a clean file; 409 while quarantined or when rejected',
    errors: errors('FILES_NOT_FOUND', 'FILES_NOT_CLEAN'),
    ...common,
    params: FileIdParams,
    responses: { 200: DownloadResponse },
    handler: async ({ params }) => ({ status: 200, body: await downloadUrl(deps, params.id) }),
  });
  r.get('/v1/files/:id/derivatives/:name', {
    summary: 'A pre-signed GET of a derived object of a clean image (a thumbnail, EXIF stripped)',
    errors: errors('FILES_NOT_FOUND', 'FILES_NOT_CLEAN'),
    ...common,
    params: DerivativeParams,
    responses: { 200: DownloadResponse },
    handler: async ({ params }) => ({ status: 200, body: await derivativeUrl(deps, params.id, params.name) }),
  });
  r.delete('/v1/files/:id', {
    summary: 'Delete a file and every object derived from it (owner or admin)',
    errors: errors('FILES_NOT_FOUND', 'FILES_STORAGE_UNAVAILABLE'),
    ...common,
    params: FileIdParams,
    responses: { 204: null },
    handler: async ({ params, req }) => {
      const who = principal(req);
      const file = await getFile(deps.pool, params.id);
      // Another member's file is as good as absent: no hint that the id exists.
      if (file.owner !== who.sub && !who.roles.includes('admin')) throw filesError('FILES_NOT_FOUND', `file ${params.id} does not exist`);
      await deleteFile(deps, params.id);
      return { status: 204 };
    },
  });
  r.get('/v1/files', {
    summary: "The tenant's files, newest first",
    errors: errors(),
    ...common,
    query: ListQuery,
    responses: { 200: ListResponse },
    handler: async ({ query }) => ({ status: 200, body: { items: (await listFiles(deps.pool, query.limit)).map(toFileResponse) } }),
  });
}
