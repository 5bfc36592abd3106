/**
 * The PostgreSQL side of CDC: a publication of the event table (inserts only)
 * and a pgoutput logical replication slot. The slot is the relay's durable
 * cursor: PostgreSQL keeps the WAL from its confirmed_flush_lsn on, so events
 * appended while no relay runs wait there.
 */
import { sqlStateOf, type Queryable } from '@bulwark/db';

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export async function ensurePublication(db: Queryable, publication: string, schema: string): Promise<void> {
  const { rowCount } = await db.query({ text: 'SELECT 1 FROM pg_publication WHERE pubname = $1', values: [publication] });
  if (rowCount) return;
  try {
    await db.query(`CREATE PUBLICATION ${q(publication)} FOR TABLE ${q(schema)}.events WITH (publish = 'insert')`);
  } catch (err) {
    if (sqlStateOf(err) !== '42710') throw err; // created by another replica meanwhile
  }
}

export async function ensureSlot(db: Queryable, slot: string): Promise<void> {
  const { rowCount } = await db.query({ text: 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', values: [slot] });
  if (rowCount) return;
  try {
    await db.query({ text: "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", values: [slot] });
  } catch (err) {
    if (sqlStateOf(err) !== '42710') throw err;
  }
}

export interface SlotStatus {
  active: boolean;
  /** Bytes of WAL between the server's current position and what the relay confirmed. */
  lagBytes: number;
  confirmedFlushLsn: string | null;
}

export async function slotStatus(db: Queryable, slot: string): Promise<SlotStatus | undefined> {
  const { rows } = await db.query<{ active: boolean; lag: number | null; confirmed_flush_lsn: string | null }>({
    name: 'orders.relay.slot_status',
    text: `SELECT active, GREATEST(0, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn))::float8 AS lag, confirmed_flush_lsn::text
           FROM pg_replication_slots WHERE slot_name = $1`,
    values: [slot],
  });
  const row = rows[0];
  return row && { active: row.active, lagBytes: row.lag ?? 0, confirmedFlushLsn: row.confirmed_flush_lsn };
}

/** Drops the slot (terminating its walsender first); for tests and decommissioning. */
export async function dropReplication(db: Queryable, slot: string, publication: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await db.query({ text: 'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', values: [slot] });
      await db.query({ text: 'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', values: [slot] });
      break;
    } catch (err) {
      if (sqlStateOf(err) !== '55006' || attempt >= 50) throw err; // 55006: slot still active
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await db.query(`DROP PUBLICATION IF EXISTS ${q(publication)}`);
}
