/**
 * SQL of links. Management reads and writes run as the caller's tenant
 * (row-level security); `redirectTargetByCode` and `applyClicks` run in the
 * system context, because a redirect and a click name no tenant.
 */
import { randomUUID } from 'node:crypto';
import { sqlStateOf, type Queryable } from '@bulwark/db';

export interface LinkRow {
  code: string;
  targetUrl: string;
  ownerSub: string;
  redirectStatus: 301 | 302;
  customAlias: boolean;
  expiresAt: Date | null;
  createdAt: Date;
  clicks: number;
  lastAccessedAt: Date | null;
}

const COLUMNS = `code, target_url AS "targetUrl", owner_sub AS "ownerSub", redirect_status AS "redirectStatus", custom_alias AS "customAlias",
  expires_at AS "expiresAt", created_at AS "createdAt", clicks::float8 AS clicks, last_accessed_at AS "lastAccessedAt"`;

export interface NewLink {
  code: string;
  targetUrl: string;
  ownerSub: string;
  redirectStatus: 301 | 302;
  customAlias: boolean;
  expiresAt: Date | null;
}

/** Inserts the link; 'taken' when the code exists (any tenant's). */
export async function insertLink(db: Queryable, link: NewLink): Promise<LinkRow | 'taken'> {
  try {
    const { rows } = await db.query<LinkRow>({
      name: 'shortener.insert_link',
      text: `INSERT INTO links (code, target_url, owner_sub, redirect_status, custom_alias, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
      values: [link.code, link.targetUrl, link.ownerSub, link.redirectStatus, link.customAlias, link.expiresAt],
    });
    return rows[0]!;
  } catch (err) {
    if (sqlStateOf(err) === '23505') return 'taken';
    throw err;
  }
}

export interface RedirectRow {
  tenant: string;
  targetUrl: string;
  redirectStatus: 301 | 302;
  expiresAt: Date | null;
}

/** The link behind a code, whatever its tenant (system context), or undefined. */
export async function redirectTargetByCode(db: Queryable, code: string): Promise<RedirectRow | undefined> {
  const { rows } = await db.query<RedirectRow>({
    name: 'shortener.redirect_target',
    text: 'SELECT tenant_id AS tenant, target_url AS "targetUrl", redirect_status AS "redirectStatus", expires_at AS "expiresAt" FROM links WHERE code = $1',
    values: [code],
  });
  return rows[0];
}

export interface Referrer {
  referrer: string;
  clicks: number;
}

/** One of the owner's links with its top referrers, or undefined. */
export async function ownLink(db: Queryable, code: string, ownerSub: string): Promise<(LinkRow & { referrers: Referrer[] }) | undefined> {
  const { rows } = await db.query<LinkRow & { referrers: Referrer[] }>({
    name: 'shortener.own_link',
    text: `SELECT ${COLUMNS},
      COALESCE((SELECT json_agg(json_build_object('referrer', r.referrer, 'clicks', r.clicks::float8) ORDER BY r.clicks DESC, r.referrer)
                FROM (SELECT referrer, clicks FROM link_referrers WHERE code = links.code ORDER BY clicks DESC, referrer LIMIT 10) r), '[]'::json) AS referrers
      FROM links WHERE code = $1 AND owner_sub = $2`,
    values: [code, ownerSub],
  });
  return rows[0];
}

export interface LinkCursor {
  createdAt: Date;
  code: string;
}

/** The owner's links, newest first, after `cursor` (keyset); one more than `limit` tells there is a next page. */
export async function listOwnLinks(db: Queryable, ownerSub: string, limit: number, cursor: LinkCursor | undefined): Promise<LinkRow[]> {
  const { rows } = await db.query<LinkRow>({
    name: 'shortener.list_links',
    text: `SELECT ${COLUMNS} FROM links
      WHERE tenant_id = current_setting('bulwark.tenant', true) AND owner_sub = $1
        AND ($2::timestamptz IS NULL OR (created_at, code) < ($2::timestamptz, $3::text))
      ORDER BY created_at DESC, code DESC LIMIT $4`,
    values: [ownerSub, cursor?.createdAt ?? null, cursor?.code ?? '', limit + 1],
  });
  return rows;
}

/** Deletes one of the owner's links (its referrers go with it); false when it is not theirs or gone. */
export async function deleteOwnLink(db: Queryable, code: string, ownerSub: string): Promise<boolean> {
  const { rowCount } = await db.query({ name: 'shortener.delete_link', text: 'DELETE FROM links WHERE code = $1 AND owner_sub = $2', values: [code, ownerSub] });
  return (rowCount ?? 0) > 0;
}

export interface ClickCount {
  code: string;
  clicks: number;
  lastAt: Date;
  /** Clicks by referrer origin. */
  referrers: Map<string, number>;
  /** Each click (for the events), oldest first. */
  events: { at: Date; referrer: string }[];
}

/**
 * Adds a batch of clicks in one transaction (system context): counters and
 * last access per link, counts per referrer, and one link-clicked event per
 * click in the outbox, filed under the link's tenant. Clicks of a link
 * deleted meanwhile are dropped with it. Returns the links updated.
 */
export async function applyClicks(tx: Queryable, batch: readonly ClickCount[]): Promise<number> {
  if (batch.length === 0) return 0;
  const { rowCount } = await tx.query({
    name: 'shortener.apply_clicks',
    text: `UPDATE links SET clicks = links.clicks + b.clicks, last_accessed_at = GREATEST(links.last_accessed_at, b.last_at)
      FROM unnest($1::text[], $2::bigint[], $3::timestamptz[]) AS b(code, clicks, last_at) WHERE links.code = b.code`,
    values: [batch.map((c) => c.code), batch.map((c) => c.clicks), batch.map((c) => c.lastAt)],
  });
  const refCodes: string[] = [];
  const refNames: string[] = [];
  const refCounts: number[] = [];
  for (const c of batch) {
    for (const [referrer, n] of c.referrers) {
      refCodes.push(c.code);
      refNames.push(referrer);
      refCounts.push(n);
    }
  }
  await tx.query({
    name: 'shortener.apply_referrers',
    text: `INSERT INTO link_referrers (tenant_id, code, referrer, clicks)
      SELECT l.tenant_id, r.code, r.referrer, r.clicks FROM unnest($1::text[], $2::text[], $3::bigint[]) AS r(code, referrer, clicks) JOIN links l ON l.code = r.code
      ON CONFLICT (code, referrer) DO UPDATE SET clicks = link_referrers.clicks + EXCLUDED.clicks`,
    values: [refCodes, refNames, refCounts],
  });
  const ids: string[] = [];
  const codes: string[] = [];
  const data: string[] = [];
  for (const c of batch) {
    for (const e of c.events) {
      ids.push(randomUUID());
      codes.push(c.code);
      data.push(JSON.stringify({ code: c.code, at: e.at.toISOString(), referrer: e.referrer }));
    }
  }
  await tx.query({
    name: 'shortener.record_clicks',
    text: `INSERT INTO shortener_events_outbox (tenant_id, event_id, aggregate_id, type, data)
      SELECT l.tenant_id, e.id, e.code, 'link-clicked', e.data || jsonb_build_object('tenantId', l.tenant_id) FROM unnest($1::uuid[], $2::text[], $3::jsonb[]) WITH ORDINALITY AS e(id, code, data, n) JOIN links l ON l.code = e.code ORDER BY e.n`,
    values: [ids, codes, data],
  });
  return rowCount ?? 0;
}

/** Deletes published outbox rows older than `keepSeconds` (system context); returns how many. */
export async function prunePublishedEvents(db: Queryable, keepSeconds: number, limit = 5_000): Promise<number> {
  const { rowCount } = await db.query({
    name: 'shortener.prune_outbox',
    text: `DELETE FROM shortener_events_outbox WHERE id IN (
      SELECT id FROM shortener_events_outbox WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1) ORDER BY id LIMIT $2)`,
    values: [keepSeconds, limit],
  });
  return rowCount ?? 0;
}
