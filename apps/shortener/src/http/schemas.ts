/** Request and response schemas of the shortener's routes (they validate, and /openapi.json is made from them). */
import { z } from 'zod';

export const CodeParams = z.object({ code: z.string().min(1).max(64).describe('The short code or custom alias.') });

export const CreateLinkBody = z.object({
  url: z.string().min(1).max(4096).describe('The target: an absolute http(s) URL of at most 2,048 characters.'),
  alias: z.string().min(1).max(64).optional().describe('A custom code (3–32 letters, digits, _ or -); generated when absent.'),
  permanent: z.boolean().default(false).describe('true: 301, cacheable by browsers (later clicks may not reach us and are not counted); false: 302, every click counted.'),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('When the link stops redirecting (410 after it).'),
}).strict();

export const LinkResponse = z.object({
  code: z.string(),
  shortUrl: z.string(),
  url: z.string(),
  permanent: z.boolean(),
  customAlias: z.boolean(),
  expiresAt: z.string().nullable(),
  createdAt: z.string(),
  clicks: z.number().int(),
  lastAccessedAt: z.string().nullable(),
});

export const LinkStatsResponse = LinkResponse.extend({
  referrers: z.array(z.object({ referrer: z.string().describe("The referrer's origin; '' for none."), clicks: z.number().int() })).describe('Top 10 referrers by clicks.'),
});

export const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional().describe('`nextCursor` of the previous page.'),
});

export const LinkListResponse = z.object({ items: z.array(LinkResponse), nextCursor: z.string().nullable() });
