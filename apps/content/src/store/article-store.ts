/**
 * SQL of articles, revisions and the moderation queue; plain objects out.
 * Reads and writes run as the transaction's tenant (row-level security);
 * the scheduler's publish runs in the system context and names each
 * article's tenant in the event it writes.
 */
import type { Queryable } from '@bulwark/db';

export type ArticleStatus = 'draft' | 'in_review' | 'scheduled' | 'published' | 'rejected';

export interface MediaRef {
  fileId: string;
  role: 'image' | 'video' | 'attachment';
  alt: string;
}

export interface Article {
  id: string;
  slug: string;
  authorSub: string;
  title: string;
  body: string;
  tags: string[];
  media: MediaRef[];
  status: ArticleStatus;
  revision: number;
  publishAt: string | null;
  publishedAt: string | null;
  moderation: { flags: string[]; reason: string | null; moderatedBy: string | null };
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = 'id, slug, author_sub, title, body, tags, media, status, revision, publish_at, published_at, moderation_flags, moderation_reason, moderated_by, created_at, updated_at';

interface Row {
  id: string;
  slug: string;
  author_sub: string;
  title: string;
  body: string;
  tags: string[];
  media: MediaRef[];
  status: ArticleStatus;
  revision: number;
  publish_at: Date | null;
  published_at: Date | null;
  moderation_flags: string[];
  moderation_reason: string | null;
  moderated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

function toArticle(r: Row): Article {
  return {
    id: r.id,
    slug: r.slug,
    authorSub: r.author_sub,
    title: r.title,
    body: r.body,
    tags: r.tags,
    media: r.media,
    status: r.status,
    revision: r.revision,
    publishAt: r.publish_at?.toISOString() ?? null,
    publishedAt: r.published_at?.toISOString() ?? null,
    moderation: { flags: r.moderation_flags, reason: r.moderation_reason, moderatedBy: r.moderated_by },
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export async function insertArticle(tx: Queryable, a: { id: string; slug: string; authorSub: string; title: string; body: string; tags: string[]; media: MediaRef[] }): Promise<Article> {
  const { rows } = await tx.query<Row>({
    name: 'content.insert_article',
    text: `INSERT INTO articles (id, slug, author_sub, title, body, tags, media) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING ${COLUMNS}`,
    values: [a.id, a.slug, a.authorSub, a.title, a.body, a.tags, JSON.stringify(a.media)],
  });
  await insertRevision(tx, rows[0]!);
  return toArticle(rows[0]!);
}

async function insertRevision(tx: Queryable, r: Row): Promise<void> {
  await tx.query({
    name: 'content.insert_revision',
    text: 'INSERT INTO article_revisions (article_id, revision, author_sub, title, body, tags) VALUES ($1, $2, $3, $4, $5, $6)',
    values: [r.id, r.revision, r.author_sub, r.title, r.body, r.tags],
  });
}

/** The article, locked for the rest of the transaction when `lock`. */
export async function findArticle(db: Queryable, id: string, lock = false): Promise<Article | undefined> {
  const { rows } = await db.query<Row>({ name: lock ? 'content.find_article_lock' : 'content.find_article', text: `SELECT ${COLUMNS} FROM articles WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, values: [id] });
  return rows[0] ? toArticle(rows[0]) : undefined;
}

/** A new revision of the text (status unchanged here: the use case decides what an edit does to it). */
export async function reviseArticle(tx: Queryable, id: string, change: { title: string; body: string; tags: string[]; media: MediaRef[]; authorSub: string }): Promise<Article> {
  const { rows } = await tx.query<Row>({
    name: 'content.revise_article',
    text: `UPDATE articles SET title = $2, body = $3, tags = $4, media = $5::jsonb, revision = revision + 1, updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id, change.title, change.body, change.tags, JSON.stringify(change.media)],
  });
  await insertRevision(tx, { ...rows[0]!, author_sub: change.authorSub });
  return toArticle(rows[0]!);
}

export async function setStatus(tx: Queryable, id: string, s: { status: ArticleStatus; publishAt?: string | null; flags?: string[]; reason?: string | null; moderatedBy?: string | null }): Promise<Article> {
  const { rows } = await tx.query<Row>({
    name: 'content.set_status',
    text: `UPDATE articles SET status = $2,
             publish_at = CASE WHEN $2 = 'scheduled' THEN $3::timestamptz ELSE publish_at END,
             published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END,
             moderation_flags = COALESCE($4, moderation_flags),
             moderation_reason = $5, moderated_by = COALESCE($6, moderated_by), updated_at = now()
           WHERE id = $1 RETURNING ${COLUMNS}`,
    values: [id, s.status, s.publishAt ?? null, s.flags ?? null, s.reason ?? null, s.moderatedBy ?? null],
  });
  return toArticle(rows[0]!);
}

export async function listRevisions(db: Queryable, id: string): Promise<{ revision: number; authorSub: string; title: string; createdAt: string }[]> {
  const { rows } = await db.query<{ revision: number; author_sub: string; title: string; created_at: Date }>({
    name: 'content.list_revisions',
    text: 'SELECT revision, author_sub, title, created_at FROM article_revisions WHERE article_id = $1 ORDER BY revision DESC LIMIT 100',
    values: [id],
  });
  return rows.map((r) => ({ revision: r.revision, authorSub: r.author_sub, title: r.title, createdAt: r.created_at.toISOString() }));
}

export async function moderationQueue(db: Queryable, limit: number): Promise<Article[]> {
  const { rows } = await db.query<Row>({ name: 'content.queue', text: `SELECT ${COLUMNS} FROM articles WHERE status = 'in_review' ORDER BY updated_at LIMIT $1`, values: [limit] });
  return rows.map(toArticle);
}

export async function findPublished(db: Queryable, slug: string): Promise<Article | undefined> {
  const { rows } = await db.query<Row>({ name: 'content.find_published', text: `SELECT ${COLUMNS} FROM articles WHERE slug = $1 AND status = 'published'`, values: [slug] });
  return rows[0] ? toArticle(rows[0]) : undefined;
}

/**
 * Published articles, newest first, or ranked by full-text match on `q`
 * (websearch syntax: quoted phrases, OR, -word) over title (A), tags (B) and
 * body (D) as catalog ranks products, through the partial GIN index.
 */
export async function searchPublished(db: Queryable, input: { q?: string | undefined; tag?: string | undefined; limit: number; offset: number }): Promise<Article[]> {
  if (input.q) {
    const { rows } = await db.query<Row>({
      name: 'content.search',
      text: `SELECT ${COLUMNS} FROM articles, websearch_to_tsquery('simple', $1) AS q
             WHERE status = 'published' AND search @@ q AND ($2::text IS NULL OR $2 = ANY (tags))
             ORDER BY ts_rank_cd(search, q) DESC, published_at DESC LIMIT $3 OFFSET $4`,
      values: [input.q, input.tag ?? null, input.limit, input.offset],
    });
    return rows.map(toArticle);
  }
  const { rows } = await db.query<Row>({
    name: 'content.latest',
    text: `SELECT ${COLUMNS} FROM articles WHERE status = 'published' AND ($1::text IS NULL OR $1 = ANY (tags)) ORDER BY published_at DESC LIMIT $2 OFFSET $3`,
    values: [input.tag ?? null, input.limit, input.offset],
  });
  return rows.map(toArticle);
}

/** Publishes every scheduled article whose time has come, with its event (system context: every tenant); returns how many. */
export async function publishDue(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'content.publish_due',
    text: `WITH due AS (
             UPDATE articles SET status = 'published', published_at = now(), updated_at = now()
             WHERE status = 'scheduled' AND publish_at <= now()
             RETURNING tenant_id, id, slug, revision, author_sub
           ), events AS (
             INSERT INTO content_events_outbox (tenant_id, event_id, aggregate_id, type, data)
             SELECT tenant_id, gen_random_uuid(), id::text, 'article-changed',
                    jsonb_build_object('tenantId', tenant_id, 'articleId', id::text, 'slug', slug, 'status', 'published', 'revision', revision, 'authorSub', author_sub, 'reason', NULL,
                      'surrogateKeys', jsonb_build_array('article:' || id::text, 'articles:' || tenant_id))
             FROM due RETURNING 1
           )
           SELECT count(*)::int AS n FROM events`,
  });
  return rows[0]?.n ?? 0;
}

export async function prunePublishedEvents(db: Queryable, keepSeconds: number): Promise<void> {
  await db.query({ name: 'content.prune_outbox', text: "DELETE FROM content_events_outbox WHERE published_at < now() - make_interval(secs => $1)", values: [keepSeconds] });
}
