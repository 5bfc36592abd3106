/** Request and response schemas of the edge's own API (validation and /openapi.json). */
import { z } from 'zod';

const SurrogateKey = z.string().min(1).max(256).regex(/^[^\s]+$/).describe('A surrogate key (tag) as origins send it in `Surrogate-Key`.');
const Url = z.url().max(2_048).describe('An absolute URL as clients ask for it through the edge (its host and path and query make the cache key).');

export const PurgeBody = z
  .object({
    surrogateKeys: z.array(SurrogateKey).max(1_000).default([]).describe('Every object tagged with one of these is dropped.'),
    urls: z.array(Url).max(1_000).default([]).describe('These objects (every variant) are dropped.'),
  })
  .refine((b) => b.surrogateKeys.length + b.urls.length > 0, { message: 'name at least one surrogate key or URL' });
export const PurgeResponse = z.object({ purged: z.number().int().describe('Objects dropped.') });

export const WarmBody = z.object({ urls: z.array(Url).min(1).max(1_000).describe('Fetched from the origin into the store, a few at a time (the top N objects before traffic arrives).') });
export const WarmResponse = z.object({ stored: z.number().int(), skipped: z.array(z.object({ url: z.string(), reason: z.string() })).describe('Not storable (private, no-store, too large) or failed.') });
