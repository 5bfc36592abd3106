/**
 * Article use cases. Each runs in one transaction as the caller's tenant and
 * writes its event (with the surrogate keys the edge purges) in the same
 * transaction. States: draft → submit → in_review (a rule flagged it) or
 * scheduled / published; a moderator approves (scheduled or published) or
 * rejects with a reason; an edit of a published article stays published when
 * no rule flags it (the edge drops the old copy), else it goes back to review.
 */
import { randomUUID } from 'node:crypto';
import { sqlStateOf, withTransaction, type DbPool, type Queryable } from '@bulwark/db';
import { recordContentEvent } from '../events/content-events.ts';
import { contentError } from '../errors.ts';
import * as store from '../store/article-store.ts';
import type { Article, MediaRef } from '../store/article-store.ts';
import { moderationFlags, type ModerationRules } from './moderation.ts';

export interface Actor {
  sub: string;
  roles: readonly string[];
}

export const MODERATOR_ROLES = ['moderator', 'admin'];
export const isModerator = (actor: Actor): boolean => actor.roles.some((r) => MODERATOR_ROLES.includes(r));

export interface ArticleInput {
  title: string;
  body: string;
  tags: string[];
  media: MediaRef[];
}

/** A slug from a title: lower-case words of a–z and 0–9 joined by '-', with a short random tail to keep it unique. */
export function slugOf(title: string): string {
  const base = title.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100) || 'article';
  return `${base}-${randomUUID().slice(0, 6)}`;
}

async function changed(tx: Queryable, a: Article, kind: 'article-changed' | 'article-rejected' = 'article-changed'): Promise<Article> {
  await recordContentEvent(tx, kind, { articleId: a.id, slug: a.slug, status: a.status, revision: a.revision, authorSub: a.authorSub, reason: a.moderation.reason });
  return a;
}

export async function createArticle(pool: DbPool, actor: Actor, input: ArticleInput & { slug?: string | undefined }): Promise<Article> {
  try {
    return await withTransaction(pool, async (tx) => changed(tx, await store.insertArticle(tx, { id: randomUUID(), slug: input.slug ?? slugOf(input.title), authorSub: actor.sub, ...input })));
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw contentError('CONTENT_SLUG_TAKEN', 'another article has this slug');
    throw err;
  }
}

/** The article for its author or a moderator. */
export async function readArticle(pool: DbPool, actor: Actor, id: string): Promise<Article & { revisions: Awaited<ReturnType<typeof store.listRevisions>> }> {
  return withTransaction(pool, async (tx) => {
    const article = await store.findArticle(tx, id);
    if (!article || (article.authorSub !== actor.sub && !isModerator(actor))) throw contentError('CONTENT_ARTICLE_NOT_FOUND', 'no such article');
    return { ...article, revisions: await store.listRevisions(tx, id) };
  }, { readOnly: true });
}

async function ownArticle(tx: Queryable, actor: Actor, id: string): Promise<Article> {
  const article = await store.findArticle(tx, id, true);
  if (!article) throw contentError('CONTENT_ARTICLE_NOT_FOUND', 'no such article');
  if (article.authorSub !== actor.sub) throw contentError('CONTENT_NOT_AUTHOR', 'only the author changes an article');
  return article;
}

export async function reviseArticle(pool: DbPool, actor: Actor, id: string, expectedRevision: number, input: ArticleInput, rules: ModerationRules): Promise<Article> {
  return withTransaction(pool, async (tx) => {
    const current = await ownArticle(tx, actor, id);
    if (current.revision !== expectedRevision) throw contentError('CONTENT_REVISION_CONFLICT', 'the article changed since that revision', { current: current.revision });
    if (current.status === 'in_review') throw contentError('CONTENT_INVALID_TRANSITION', 'an article in review is not edited until a moderator decides', { status: current.status });
    let article = await store.reviseArticle(tx, id, { ...input, authorSub: actor.sub });
    if (article.status === 'rejected') article = await store.setStatus(tx, id, { status: 'draft', flags: [] });
    else if (article.status === 'published' || article.status === 'scheduled') {
      const flags = moderationFlags(article, rules);
      if (flags.length > 0) article = await store.setStatus(tx, id, { status: 'in_review', flags });
    }
    return changed(tx, article);
  });
}

export async function submitArticle(pool: DbPool, actor: Actor, id: string, publishAt: string | undefined, rules: ModerationRules): Promise<Article> {
  if (publishAt !== undefined && Date.parse(publishAt) <= Date.now()) throw contentError('CONTENT_PUBLISH_AT_IN_PAST', 'publishAt must be in the future');
  return withTransaction(pool, async (tx) => {
    const current = await ownArticle(tx, actor, id);
    if (current.status !== 'draft') throw contentError('CONTENT_INVALID_TRANSITION', `a ${current.status} article is not submitted`, { status: current.status });
    const flags = moderationFlags(current, rules);
    const status = flags.length > 0 ? 'in_review' : publishAt ? 'scheduled' : 'published';
    return changed(tx, await store.setStatus(tx, id, { status, flags, publishAt: publishAt ?? null }));
  });
}

export async function listQueue(pool: DbPool, actor: Actor, limit: number): Promise<Article[]> {
  if (!isModerator(actor)) throw contentError('CONTENT_MODERATOR_ONLY', 'the moderation queue is for moderators');
  return withTransaction(pool, (tx) => store.moderationQueue(tx, limit), { readOnly: true });
}

export async function decide(pool: DbPool, actor: Actor, id: string, decision: { action: 'approve' | 'reject'; reason?: string | undefined }): Promise<Article> {
  if (!isModerator(actor)) throw contentError('CONTENT_MODERATOR_ONLY', 'decisions are for moderators');
  return withTransaction(pool, async (tx) => {
    const current = await store.findArticle(tx, id, true);
    if (!current) throw contentError('CONTENT_ARTICLE_NOT_FOUND', 'no such article');
    if (current.status !== 'in_review') throw contentError('CONTENT_INVALID_TRANSITION', `a ${current.status} article is not in the queue`, { status: current.status });
    if (decision.action === 'reject') {
      return changed(tx, await store.setStatus(tx, id, { status: 'rejected', reason: decision.reason ?? null, moderatedBy: actor.sub }), 'article-rejected');
    }
    const scheduled = current.publishAt !== null && Date.parse(current.publishAt) > Date.now();
    return changed(tx, await store.setStatus(tx, id, { status: scheduled ? 'scheduled' : 'published', publishAt: current.publishAt, reason: decision.reason ?? null, moderatedBy: actor.sub }));
  });
}

export async function publicArticle(pool: DbPool, slug: string): Promise<Article> {
  const article = await withTransaction(pool, (tx) => store.findPublished(tx, slug), { readOnly: true });
  if (!article) throw contentError('CONTENT_ARTICLE_NOT_FOUND', 'no published article with this slug');
  return article;
}

export async function searchArticles(pool: DbPool, input: { q?: string | undefined; tag?: string | undefined; limit: number; offset: number }): Promise<Article[]> {
  return withTransaction(pool, (tx) => store.searchPublished(tx, input), { readOnly: true });
}
