/**
 * SQL of email/SMS messages (tracking states queued → sent → delivered |
 * bounced | complained; suppressed and failed end early) and of the
 * suppression list.
 */
import type { Queryable } from '@bulwark/db';

export type Channel = 'email' | 'sms';
export type MessageStatus = 'queued' | 'sent' | 'delivered' | 'bounced' | 'complained' | 'suppressed' | 'failed';

export interface Message {
  id: string;
  tenantId: string;
  channel: Channel;
  recipient: string;
  template: string;
  locale: string;
  subject: string;
  body: string;
  status: MessageStatus;
  provider: string;
  providerMessageId: string | null;
  idempotencyKey: string | null;
  sourceEventId: string | null;
  attempts: number;
  error: string | null;
  createdAt: string;
  sentAt: string | null;
  deliveredAt: string | null;
  bouncedAt: string | null;
}

const ts = (col: string, as: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "${as}"`;

const COLUMNS = `id, tenant_id AS "tenantId", channel, recipient, template, locale, subject, body, status, provider, provider_message_id AS "providerMessageId",
  idempotency_key AS "idempotencyKey", source_event_id AS "sourceEventId", attempts, error, ${ts('created_at', 'createdAt')}, ${ts('sent_at', 'sentAt')},
  ${ts('delivered_at', 'deliveredAt')}, ${ts('bounced_at', 'bouncedAt')}`;

export interface NewMessage {
  id: string;
  tenantId: string;
  channel: Channel;
  recipient: string;
  template: string;
  locale: string;
  subject: string;
  body: string;
  provider: string;
  idempotencyKey?: string;
  sourceEventId?: string;
  status: 'queued' | 'suppressed';
}

/** Inserts a message; with an idempotency key already used, returns the stored one and `created: false`. */
export async function insertMessage(db: Queryable, m: NewMessage): Promise<{ message: Message; created: boolean }> {
  const { rows } = await db.query<Message>(
    `INSERT INTO messages (id, tenant_id, channel, recipient, template, locale, subject, body, provider, idempotency_key, source_event_id, status, error)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $12 = 'suppressed' THEN 'recipient is on the suppression list' END)
     ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING RETURNING ${COLUMNS}`,
    [m.id, m.tenantId, m.channel, m.recipient, m.template, m.locale, m.subject, m.body, m.provider, m.idempotencyKey ?? null, m.sourceEventId ?? null, m.status],
  );
  if (rows[0]) return { message: rows[0], created: true };
  const existing = await db.query<Message>(`SELECT ${COLUMNS} FROM messages WHERE tenant_id = $1 AND idempotency_key = $2`, [m.tenantId, m.idempotencyKey]);
  return { message: existing.rows[0]!, created: false };
}

export async function findMessage(db: Queryable, tenantId: string, id: string): Promise<Message | undefined> {
  const { rows } = await db.query<Message>(`SELECT ${COLUMNS} FROM messages WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0];
}

export async function findMessageById(db: Queryable, id: string): Promise<Message | undefined> {
  const { rows } = await db.query<Message>(`SELECT ${COLUMNS} FROM messages WHERE id = $1`, [id]);
  return rows[0];
}

/** The tenant a message belongs to (read in the system context by work that starts from a bare id). */
export async function tenantOfMessage(db: Queryable, id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ tenantId: string }>({ name: 'messages.tenant', text: 'SELECT tenant_id AS "tenantId" FROM messages WHERE id = $1', values: [id] });
  return rows[0]?.tenantId;
}

/** The tenant of the message a provider knows by its own id. */
export async function tenantOfProviderMessage(db: Queryable, provider: string, providerMessageId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ tenantId: string }>({
    name: 'messages.provider_tenant',
    text: 'SELECT tenant_id AS "tenantId" FROM messages WHERE provider = $1 AND provider_message_id = $2',
    values: [provider, providerMessageId],
  });
  return rows[0]?.tenantId;
}

export async function findMessageByProviderId(db: Queryable, provider: string, providerMessageId: string, forUpdate = false): Promise<Message | undefined> {
  const { rows } = await db.query<Message>(`SELECT ${COLUMNS} FROM messages WHERE provider = $1 AND provider_message_id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [provider, providerMessageId]);
  return rows[0];
}

/** queued → sent, once; false when another run got there first. */
export async function markMessageSent(db: Queryable, id: string, providerMessageId: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE messages SET status = 'sent', provider_message_id = $2, attempts = attempts + 1, sent_at = now(), error = NULL, updated_at = now() WHERE id = $1 AND status = 'queued'`,
    [id, providerMessageId],
  );
  return (rowCount ?? 0) > 0;
}

export async function markMessageAttemptFailed(db: Queryable, id: string, error: string, final: boolean): Promise<void> {
  await db.query(`UPDATE messages SET attempts = attempts + 1, error = $2, status = CASE WHEN $3 THEN 'failed' ELSE status END, updated_at = now() WHERE id = $1 AND status = 'queued'`, [
    id,
    error,
    final,
  ]);
}

export async function markMessageSuppressed(db: Queryable, id: string): Promise<void> {
  await db.query(`UPDATE messages SET status = 'suppressed', error = 'recipient is on the suppression list', updated_at = now() WHERE id = $1 AND status = 'queued'`, [id]);
}

/** Applies a provider outcome; delivered only from sent, bounced/complained from sent or delivered. */
export async function applyMessageOutcome(db: Queryable, id: string, outcome: 'delivered' | 'bounced' | 'complained', detail: string): Promise<boolean> {
  const { rowCount } =
    outcome === 'delivered'
      ? await db.query(`UPDATE messages SET status = 'delivered', delivered_at = now(), updated_at = now() WHERE id = $1 AND status = 'sent'`, [id])
      : await db.query(`UPDATE messages SET status = $3, bounced_at = now(), error = $2, updated_at = now() WHERE id = $1 AND status IN ('sent', 'delivered')`, [id, detail, outcome]);
  return (rowCount ?? 0) > 0;
}

export async function isSuppressed(db: Queryable, channel: Channel, recipient: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM suppressions WHERE channel = $1 AND recipient = $2`, [channel, recipient]);
  return rows.length > 0;
}

export async function addSuppression(db: Queryable, s: { channel: Channel; recipient: string; reason: 'bounce' | 'complaint' | 'manual'; messageId?: string; detail: string }): Promise<void> {
  await db.query(
    `INSERT INTO suppressions (channel, recipient, reason, message_id, detail) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (channel, recipient) DO UPDATE SET reason = CASE WHEN EXCLUDED.reason = 'complaint' THEN 'complaint' ELSE suppressions.reason END`,
    [s.channel, s.recipient, s.reason, s.messageId ?? null, s.detail],
  );
}

export interface Suppression {
  channel: Channel;
  recipient: string;
  reason: string;
  messageId: string | null;
  detail: string;
  createdAt: string;
}

export async function listSuppressions(db: Queryable, channel: Channel | undefined, limit: number): Promise<Suppression[]> {
  const { rows } = await db.query<Suppression>(
    `SELECT channel, recipient, reason, message_id AS "messageId", detail, ${ts('created_at', 'createdAt')} FROM suppressions WHERE ($1::text IS NULL OR channel = $1) ORDER BY created_at DESC LIMIT $2`,
    [channel ?? null, limit],
  );
  return rows;
}

/** Claims queued messages without a job (with `staleMs`, also long-enqueued ones: `stale`) and marks them enqueued; inside a transaction. */
export async function claimDispatchableMessages(db: Queryable, staleMs: number | undefined, limit: number): Promise<{ id: string; provider: string; stale: boolean }[]> {
  const { rows } = await db.query<{ id: string; provider: string; stale: boolean }>(
    `WITH c AS (SELECT id, enqueued_at IS NOT NULL AS stale FROM messages WHERE status = 'queued'
         AND ${staleMs === undefined ? 'enqueued_at IS NULL' : '(enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => $2::float8 / 1000))'}
       ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE messages SET enqueued_at = now() FROM c WHERE messages.id = c.id RETURNING messages.id, messages.provider, c.stale`,
    staleMs === undefined ? [limit] : [limit, staleMs],
  );
  return rows;
}
