/**
 * Thin routes: validated input, the actor from the gateway's verified
 * headers, one use case, the answer. Public reads name the tenant in the
 * path (readers have no token), run as that tenant, and carry the caching
 * headers the edge keys on: Cache-Control with s-maxage and the RFC 5861
 * windows, an ETag of the revision, and Surrogate-Key for purges.
 */
import type { Request } from 'express';
import { isTenantId, withTenant, type DbPool } from '@bulwark/db';
import type { RouteRegistrar } from '@bulwark/service-kit';
import { createArticle, decide, listQueue, publicArticle, readArticle, reviseArticle, searchArticles, submitArticle, type Actor } from '../domain/articles.ts';
import type { ModerationRules } from '../domain/moderation.ts';
import { contentError } from '../errors.ts';
import { articleSurrogateKeys } from '../events/content-events.ts';
import { Article, ArticleList, ArticleWithRevisions, CreateArticleBody, DecisionBody, IdParams, PublicArticleParams, PublicListParams, PublicListQuery, QueueQuery, ReviseArticleBody, SubmitBody } from './schemas.ts';

export interface RouteDeps {
  pool: DbPool;
  rules: ModerationRules;
  publicMaxAgeSeconds: number;
  publicStaleSeconds: number;
}

const USER_HEADERS = [
  { name: 'x-auth-sub', description: 'The verified subject (set by the gateway): the author or moderator.', required: true },
  { name: 'x-auth-roles', description: 'Comma-separated verified roles (set by the gateway); moderator or admin for the queue.', required: false },
  { name: 'x-auth-tenant', description: 'The verified tenant (set by the gateway).', required: true },
] as const;

function actorOf(req: Request): Actor {
  const sub = req.get('x-auth-sub');
  if (!sub) throw contentError('CONTENT_LOGIN_REQUIRED', 'writing articles needs a verified user');
  return { sub, roles: (req.get('x-auth-roles') ?? '').split(',').map((r) => r.trim()).filter(Boolean) };
}

function asTenant<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
  if (!isTenantId(tenant)) throw contentError('CONTENT_TENANT_INVALID', 'not a tenant id');
  return withTenant(tenant, fn);
}

export function registerRoutes(r: RouteRegistrar, deps: RouteDeps): void {
  const { pool, rules } = deps;
  const cacheControl = `public, max-age=0, s-maxage=${deps.publicMaxAgeSeconds}, stale-while-revalidate=${deps.publicStaleSeconds}, stale-if-error=${deps.publicStaleSeconds}`;

  r.post('/v1/articles', {
    summary: 'Write a draft (the caller is its author)',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_SLUG_TAKEN'],
    headers: USER_HEADERS,
    body: CreateArticleBody,
    responses: { 201: Article },
    handler: async ({ body, req }) => ({ status: 201, body: await createArticle(pool, actorOf(req), body) }),
  });
  r.get('/v1/articles/:id', {
    summary: 'An article with its revisions (its author or a moderator)',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_ARTICLE_NOT_FOUND'],
    headers: USER_HEADERS,
    params: IdParams,
    responses: { 200: ArticleWithRevisions },
    handler: async ({ params, req }) => ({ status: 200, body: await readArticle(pool, actorOf(req), params.id), headers: { 'cache-control': 'private, no-store' } }),
  });
  r.put('/v1/articles/:id', {
    summary: 'Save a new revision (the author; `revision` names the one edited). A published article stays published unless a rule flags the edit',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_ARTICLE_NOT_FOUND', 'CONTENT_NOT_AUTHOR', 'CONTENT_REVISION_CONFLICT', 'CONTENT_INVALID_TRANSITION'],
    headers: USER_HEADERS,
    params: IdParams,
    body: ReviseArticleBody,
    responses: { 200: Article },
    handler: async ({ params, body, req }) => {
      const { revision, ...input } = body;
      return { status: 200, body: await reviseArticle(pool, actorOf(req), params.id, revision, input, rules) };
    },
  });
  r.post('/v1/articles/:id/submit', {
    summary: 'Submit a draft: published now, scheduled for publishAt, or queued for moderation when a rule flags it',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_ARTICLE_NOT_FOUND', 'CONTENT_NOT_AUTHOR', 'CONTENT_INVALID_TRANSITION', 'CONTENT_PUBLISH_AT_IN_PAST'],
    headers: USER_HEADERS,
    params: IdParams,
    body: SubmitBody,
    responses: { 200: Article },
    handler: async ({ params, body, req }) => ({ status: 200, body: await submitArticle(pool, actorOf(req), params.id, body.publishAt, rules) }),
  });
  r.get('/v1/moderation/queue', {
    summary: 'Articles waiting for a moderator, oldest first (moderator or admin)',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_MODERATOR_ONLY'],
    headers: USER_HEADERS,
    query: QueueQuery,
    responses: { 200: ArticleList },
    handler: async ({ query, req }) => ({ status: 200, body: { items: await listQueue(pool, actorOf(req), query.limit) }, headers: { 'cache-control': 'private, no-store' } }),
  });
  r.post('/v1/moderation/:id/decision', {
    summary: 'Approve (publish or schedule) or reject with a reason the author is told (moderator or admin)',
    errors: ['CONTENT_LOGIN_REQUIRED', 'CONTENT_MODERATOR_ONLY', 'CONTENT_ARTICLE_NOT_FOUND', 'CONTENT_INVALID_TRANSITION'],
    headers: USER_HEADERS,
    params: IdParams,
    body: DecisionBody,
    responses: { 200: Article },
    handler: async ({ params, body, req }) => ({ status: 200, body: await decide(pool, actorOf(req), params.id, body) }),
  });

  r.get('/v1/public/:tenant/articles/:slug', {
    summary: 'A published article, cacheable at the edge (Surrogate-Key: article:<id> articles:<tenant>)',
    errors: ['CONTENT_ARTICLE_NOT_FOUND', 'CONTENT_TENANT_INVALID'],
    params: PublicArticleParams,
    responses: { 200: Article },
    handler: async ({ params }) => {
      const article = await asTenant(params.tenant, () => publicArticle(pool, params.slug));
      return { status: 200, body: article, headers: { 'cache-control': cacheControl, etag: `"${article.id}.${article.revision}"`, 'surrogate-key': articleSurrogateKeys(params.tenant, article.id).join(' ') } };
    },
  });
  r.get('/v1/public/:tenant/articles', {
    summary: 'Published articles, newest first, or ranked by a full-text query; cacheable at the edge (Surrogate-Key: articles:<tenant>)',
    errors: ['CONTENT_TENANT_INVALID'],
    params: PublicListParams,
    query: PublicListQuery,
    responses: { 200: ArticleList },
    handler: async ({ params, query }) => {
      const items = await asTenant(params.tenant, () => searchArticles(pool, query));
      return { status: 200, body: { items }, headers: { 'cache-control': cacheControl, 'surrogate-key': `articles:${params.tenant}` } };
    },
  });
}
