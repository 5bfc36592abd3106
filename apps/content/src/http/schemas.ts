/** Request and response schemas of the HTTP API (validation and /openapi.json). */
import { z } from 'zod';

const Tag = z.string().trim().toLowerCase().min(1).max(40).regex(/^[a-z0-9][a-z0-9-]*$/);
const Media = z.object({
  fileId: z.uuid().describe('An object of apps/files (its id from the upload); the article refers to it, files serves it.'),
  role: z.enum(['image', 'video', 'attachment']).default('image'),
  alt: z.string().max(300).default(''),
});

export const ArticleBody = z.object({
  title: z.string().trim().min(1).max(200),
  body: z.string().max(200_000).default(''),
  tags: z.array(Tag).max(20).default([]),
  media: z.array(Media).max(50).default([]),
});
export const CreateArticleBody = ArticleBody.extend({ slug: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/).max(120).optional().describe('Defaults to one made from the title.') });
export const ReviseArticleBody = ArticleBody.extend({ revision: z.number().int().positive().describe('The revision this edit starts from; 409 CONTENT_REVISION_CONFLICT when it is not the latest.') });
export const SubmitBody = z.object({ publishAt: z.iso.datetime({ offset: true }).optional().describe('Publish at this time (scheduled); now when left out.') });
export const DecisionBody = z.object({ action: z.enum(['approve', 'reject']), reason: z.string().trim().min(1).max(2_000).optional().describe('Told to the author (required to reject).') }).refine((d) => d.action === 'approve' || d.reason !== undefined, { message: 'a rejection needs a reason', path: ['reason'] });

export const IdParams = z.object({ id: z.uuid() });
export const PublicArticleParams = z.object({ tenant: z.string().min(1).max(64), slug: z.string().min(1).max(120) });
export const PublicListParams = z.object({ tenant: z.string().min(1).max(64) });
export const PublicListQuery = z.object({
  q: z.string().trim().min(1).max(200).optional().describe('Full-text query (websearch syntax) over title, tags and body of published articles.'),
  tag: Tag.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).max(10_000).default(0),
});
export const QueueQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export const Article = z.object({
  id: z.string(),
  slug: z.string(),
  authorSub: z.string(),
  title: z.string(),
  body: z.string(),
  tags: z.array(z.string()),
  media: z.array(z.object({ fileId: z.string(), role: z.string(), alt: z.string() })),
  status: z.enum(['draft', 'in_review', 'scheduled', 'published', 'rejected']),
  revision: z.number().int(),
  publishAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  moderation: z.object({ flags: z.array(z.string()).describe('Rules that sent it to review.'), reason: z.string().nullable().describe("The moderator's reason (a rejection's is for the author)."), moderatedBy: z.string().nullable() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const ArticleWithRevisions = Article.extend({ revisions: z.array(z.object({ revision: z.number().int(), authorSub: z.string(), title: z.string(), createdAt: z.string() })) });
export const ArticleList = z.object({ items: z.array(Article) });
