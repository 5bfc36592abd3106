/**
 * The shortener's routes. Management (/v1/links) belongs to the verified
 * user of the tenant the gateway names; the redirect (/r/:code) is public
 * and names no tenant, so it reads the link in the system context, through
 * the link cache (L1 in process, L2 Redis), and counts the click in memory.
 */
import type { Request, RequestHandler } from 'express';
import type { Cache } from '@bulwark/cache';
import { withTransaction, withSystemContext, type DbPool } from '@bulwark/db';
import type { RawRequestHandler, RouteRegistrar } from '@bulwark/service-kit';
import type { TenantFlags } from '@bulwark/openfeature-provider';
import type { ClickRecorder } from '../clicks.ts';
import { aliasProblem, generateCode, redirectAnswer, referrerOrigin, targetProblem } from '../domain/links.ts';
import { shortenerError } from '../errors.ts';
import { recordShortenerEvent } from '../events/shortener-events.ts';
import type { ShortenerMetrics } from '../metrics.ts';
import { deleteOwnLink, insertLink, listOwnLinks, ownLink, redirectTargetByCode, type LinkCursor, type LinkRow, type RedirectRow } from '../store/link-store.ts';
import { CodeParams, CreateLinkBody, LinkListResponse, LinkResponse, LinkStatsResponse, ListQuery } from './schemas.ts';

export interface RouteDeps {
  pool: DbPool;
  links: Cache;
  clicks: ClickRecorder;
  metrics: ShortenerMetrics;
  publicBaseUrl: string;
  ownBases: readonly string[];
  codeLength: number;
  missingTtlMs: number;
  permanentMaxAgeSeconds: number;
  /** The per-IP creation limit (a rate-limit middleware), when Redis is configured. */
  createLimit?: RequestHandler;
  /** Feature flags per tenant (apps/flags through the OpenFeature provider), when FLAGS_URL is set. */
  flags?: TenantFlags;
}

/** The kill switch of link creation, per tenant (and per user through targeting rules): absent or unreadable means allowed. */
export const CREATION_FLAG = 'shortener-link-creation';

const USER_HEADERS = [{ name: 'x-auth-sub', description: 'The verified subject (set by the gateway).', required: true }] as const;
const subOf = (req: Request): string => req.get('x-auth-sub')!;
const requireUser: RequestHandler = (req, _res, next) => {
  if (!req.get('x-auth-sub')) return next(shortenerError('SHORTENER_LOGIN_REQUIRED', 'links belong to a logged-in user'));
  next();
};

/** What the cache keeps per code: the redirect's facts, or that the code is unknown. */
type Cached = { found: true; tenant: string; targetUrl: string; redirectStatus: 301 | 302; expiresAt: string | null } | { found: false };

const GENERATE_ATTEMPTS = 5;

export function encodeCursor(row: Pick<LinkRow, 'createdAt' | 'code'>): string {
  return Buffer.from(JSON.stringify([row.createdAt.toISOString(), row.code])).toString('base64url');
}

export function decodeCursor(cursor: string): LinkCursor | undefined {
  try {
    const [at, code] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const createdAt = new Date(at);
    if (typeof code !== 'string' || Number.isNaN(createdAt.getTime())) return undefined;
    return { createdAt, code };
  } catch {
    return undefined;
  }
}

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): { rawRedirect: RawRequestHandler } {
  const { pool } = deps;
  const shortUrl = (code: string) => `${deps.publicBaseUrl}${code}`;
  const view = (row: LinkRow) => ({
    code: row.code,
    shortUrl: shortUrl(row.code),
    url: row.targetUrl,
    permanent: row.redirectStatus === 301,
    customAlias: row.customAlias,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    clicks: row.clicks,
    lastAccessedAt: row.lastAccessedAt?.toISOString() ?? null,
  });

  r.post('/v1/links', {
    summary: 'Shorten a URL: a generated code or a custom alias, 301 or 302, optional expiry; at most LINKS_PER_IP_PER_MINUTE per client IP',
    tags: ['links'],
    errors: ['SHORTENER_LOGIN_REQUIRED', 'SHORTENER_ALIAS_TAKEN', 'SHORTENER_ALIAS_INVALID', 'SHORTENER_TARGET_INVALID', 'SHORTENER_EXPIRY_IN_PAST', 'SHORTENER_CODE_EXHAUSTED', 'SHORTENER_CREATION_PAUSED', 'RATE_LIMITED'],
    body: CreateLinkBody,
    headers: USER_HEADERS,
    middleware: [requireUser, ...(deps.createLimit ? [deps.createLimit] : [])],
    responses: { 201: LinkResponse },
    handler: async ({ body, req }) => {
      if (deps.flags && !deps.flags.boolean(req.get('x-auth-tenant')!, CREATION_FLAG, true, { targetingKey: subOf(req) })) {
        throw shortenerError('SHORTENER_CREATION_PAUSED', `link creation is paused for this tenant (flag ${CREATION_FLAG})`);
      }
      const problem = targetProblem(body.url, [deps.publicBaseUrl, ...deps.ownBases]);
      if (problem) throw shortenerError('SHORTENER_TARGET_INVALID', `the target URL is refused (${problem})`, { reason: problem });
      if (body.alias !== undefined) {
        const bad = aliasProblem(body.alias);
        if (bad) throw shortenerError('SHORTENER_ALIAS_INVALID', `the alias is refused (${bad})`, { reason: bad });
      }
      const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) throw shortenerError('SHORTENER_EXPIRY_IN_PAST', 'expiresAt must be in the future');
      const owner = subOf(req);
      const redirectStatus = body.permanent ? 301 : 302;
      const attempts = body.alias !== undefined ? 1 : GENERATE_ATTEMPTS;
      for (let attempt = 0; attempt < attempts; attempt++) {
        const code = body.alias ?? generateCode(deps.codeLength);
        const created = await withTransaction(pool, async (tx) => {
          const row = await insertLink(tx, { code, targetUrl: body.url, ownerSub: owner, redirectStatus, customAlias: body.alias !== undefined, expiresAt });
          if (row !== 'taken') {
            await recordShortenerEvent(tx, 'link-created', code, { code, ownerSub: owner, redirectStatus, customAlias: body.alias !== undefined, expiresAt: expiresAt?.toISOString() ?? null });
          }
          return row;
        });
        if (created !== 'taken') {
          deps.metrics.linksCreated.inc({ kind: body.alias !== undefined ? 'alias' : 'generated' });
          // A miss remembered for this code (someone tried it before it existed) must not hide the new link.
          await deps.links.delete(code);
          return { status: 201, body: view(created), headers: { location: `/v1/links/${code}` } };
        }
        if (body.alias !== undefined) throw shortenerError('SHORTENER_ALIAS_TAKEN', 'another link uses this alias', { alias: body.alias });
        deps.metrics.codeCollisions.inc();
      }
      throw shortenerError('SHORTENER_CODE_EXHAUSTED', `${GENERATE_ATTEMPTS} generated codes in a row were taken`);
    },
  });

  r.get('/v1/links', {
    summary: "The caller's links, newest first (cursor pagination)",
    tags: ['links'],
    errors: ['SHORTENER_LOGIN_REQUIRED'],
    query: ListQuery,
    headers: USER_HEADERS,
    middleware: [requireUser],
    responses: { 200: LinkListResponse },
    handler: async ({ query, req }) => {
      const cursor = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const rows = await listOwnLinks(pool, subOf(req), query.limit, cursor);
      const page = rows.slice(0, query.limit);
      return { status: 200, body: { items: page.map(view), nextCursor: rows.length > query.limit ? encodeCursor(page.at(-1)!) : null } };
    },
  });

  r.get('/v1/links/:code', {
    summary: "One of the caller's links with its clicks, last access and top referrers",
    tags: ['links'],
    errors: ['SHORTENER_LOGIN_REQUIRED', 'SHORTENER_LINK_NOT_FOUND'],
    params: CodeParams,
    headers: USER_HEADERS,
    middleware: [requireUser],
    responses: { 200: LinkStatsResponse },
    handler: async ({ params, req }) => {
      const row = await ownLink(pool, params.code, subOf(req));
      if (!row) throw shortenerError('SHORTENER_LINK_NOT_FOUND', 'no such link of yours');
      return { status: 200, body: { ...view(row), referrers: row.referrers } };
    },
  });

  r.delete('/v1/links/:code', {
    summary: "Delete one of the caller's links; it stops redirecting on every instance at once",
    tags: ['links'],
    errors: ['SHORTENER_LOGIN_REQUIRED', 'SHORTENER_LINK_NOT_FOUND'],
    params: CodeParams,
    headers: USER_HEADERS,
    middleware: [requireUser],
    responses: { 204: null },
    handler: async ({ params, req }) => {
      const owner = subOf(req);
      const deleted = await withTransaction(pool, async (tx) => {
        const gone = await deleteOwnLink(tx, params.code, owner);
        if (gone) await recordShortenerEvent(tx, 'link-deleted', params.code, { code: params.code, ownerSub: owner });
        return gone;
      });
      if (!deleted) throw shortenerError('SHORTENER_LINK_NOT_FOUND', 'no such link of yours');
      await deps.links.delete(params.code);
      return { status: 204 };
    },
  });

  const lookup = (code: string): Promise<Cached> =>
    deps.links.get<Cached>(
      code,
      async () => {
        const row: RedirectRow | undefined = await withSystemContext(pool, 'shortener.redirect', () => redirectTargetByCode(pool, code));
        return row ? { found: true, tenant: row.tenant, targetUrl: row.targetUrl, redirectStatus: row.redirectStatus, expiresAt: row.expiresAt?.toISOString() ?? null } : { found: false };
      },
    );

  /** The redirect a code answers now (the click counted), or the problem it is refused with. */
  const follow = async (code: string, referer: string | undefined): Promise<Redirect> => {
    const link = await lookup(code);
    // An unknown code is remembered briefly: not the full TTL, a link may be created under it any moment.
    if (!link.found) {
      deps.metrics.redirects.inc({ outcome: 'not_found' });
      await deps.links.set(code, link, { ttlMs: deps.missingTtlMs });
      throw shortenerError('SHORTENER_LINK_NOT_FOUND', 'no link with this code');
    }
    const answer = redirectAnswer({ targetUrl: link.targetUrl, redirectStatus: link.redirectStatus, expiresAt: link.expiresAt === null ? null : new Date(link.expiresAt) }, new Date(), deps.permanentMaxAgeSeconds);
    if (answer.kind === 'expired') {
      deps.metrics.redirects.inc({ outcome: 'expired' });
      throw shortenerError('SHORTENER_LINK_EXPIRED', 'the link has expired');
    }
    deps.clicks.record(code, referrerOrigin(referer));
    deps.metrics.redirects.inc({ outcome: answer.status === 301 ? 'permanent' : 'temporary' });
    return { status: answer.status, location: answer.location, cacheControl: answer.cacheControl };
  };

  // Documented and validated here; served first by rawRedirect (mounted with `serves`), which leaves this route what it declines.
  r.get(REDIRECT_ROUTE, {
    summary: 'Follow a short link: 302 (no-store, every click counted) or 301 (cacheable), 404 unknown, 410 expired',
    tags: ['redirect'],
    errors: ['SHORTENER_LINK_NOT_FOUND', 'SHORTENER_LINK_EXPIRED'],
    params: CodeParams,
    headers: [{ name: 'Referer', description: 'Kept as its origin only, for the link\'s referrer counts.' }],
    responses: { 301: null, 302: null },
    handler: async ({ params, req }) => {
      const answer = await follow(params.code, req.get('referer'));
      return { status: answer.status, headers: { location: answer.location, 'cache-control': answer.cacheControl } };
    },
  });

  return { rawRedirect: rawRedirectHandler(follow) };
}

interface Redirect {
  status: 301 | 302;
  location: string;
  cacheControl: string;
}

/** The route the redirect is documented under, and the label of its metrics whichever path served it. */
export const REDIRECT_ROUTE = '/r/:code';
/** Codes the raw path serves: generated codes and aliases. Anything else (encoded, too long) goes to the route, whose validation explains it. */
const RAW_CODE = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * GET /r/<code> before Express: the hot path of a shortener is a cache read
 * and a 30x, and the router, the validation layer and Express's response
 * prototype cost more than that (PERFORMANCE, shortener). Same answers as
 * the route: the same `follow`, problems written by the kit.
 */
export function rawRedirectHandler(follow: (code: string, referer: string | undefined) => Promise<Redirect>): RawRequestHandler {
  return (req, res, request) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '';
    if (!url.startsWith('/r/')) return false;
    const q = url.indexOf('?');
    const code = q === -1 ? url.slice(3) : url.slice(3, q);
    if (!RAW_CODE.test(code)) return false;
    request.markRoute(REDIRECT_ROUTE);
    follow(code, req.headers.referer).then(
      (answer) => {
        res.writeHead(answer.status, { location: answer.location, 'cache-control': answer.cacheControl, 'content-length': '0' });
        res.end();
      },
      (err: unknown) => request.fail(err),
    );
    return true;
  };
}
