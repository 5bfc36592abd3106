/**
 * The order-summaries read model: one row per order (status, items, address,
 * total, version), for GET /orders/:id and a customer's order list. A batch
 * loads the affected rows once, folds the events with the aggregate's own
 * `evolve`, and upserts the results in one statement. The version guard
 * makes a re-applied event a no-op. An event of an unknown type or with data
 * that does not match its schema, or one the aggregate refuses (before
 * OrderCreated, unsafe money), throws a coded error and is parked.
 */
import { parseOrderEvent } from '../domain/events.ts';
import { evolve, type OrderState } from '../domain/order.ts';
import { table, type Projection } from './projection.ts';

interface Row {
  state: OrderState | undefined;
  /** The order's tenant, from its events (the projector runs in the system context: nothing defaults it). */
  tenantId: string | null;
  version: number;
  createdAt: Date | undefined;
  updatedAt: Date | undefined;
}

export const orderSummaries: Projection = {
  name: 'order-summaries',
  tables: ['order_summaries'],
  async apply(db, events, tables) {
    const t = table(tables, 'order_summaries');
    const ids = [...new Set(events.map((e) => e.streamId))];
    const { rows } = await db.query<{ order_id: string; customer_id: string; status: OrderState['status']; items: OrderState['items']; address: OrderState['address']; total_cents: string; version: number; created_at: Date; updated_at: Date; tenant_id: string | null }>({
      name: 'orders.projection.summaries.load',
      text: `SELECT * FROM ${t} WHERE order_id = ANY($1::text[])`,
      values: [ids],
    });
    const byId = new Map<string, Row>();
    for (const r of rows) {
      byId.set(r.order_id, {
        state: { orderId: r.order_id, customerId: r.customer_id, status: r.status, items: r.items, address: r.address, totalCents: Number(r.total_cents) },
        tenantId: r.tenant_id,
        version: r.version,
        createdAt: r.created_at,
        updatedAt: r.updated_at,
      });
    }
    for (const event of events) {
      const row = byId.get(event.streamId) ?? { state: undefined, tenantId: event.tenantId, version: 0, createdAt: undefined, updatedAt: undefined };
      if (event.version <= row.version) continue;
      row.state = evolve(row.state, event.streamId, parseOrderEvent(event.type, event.data));
      row.version = event.version;
      row.createdAt ??= event.recordedAt;
      row.updatedAt = event.recordedAt;
      byId.set(event.streamId, row);
    }
    const changed = [...byId.values()].filter((r): r is Row & { state: OrderState } => r.state !== undefined);
    if (changed.length === 0) return;
    await db.query({
      name: 'orders.projection.summaries.upsert',
      text: `INSERT INTO ${t} (order_id, customer_id, status, items, address, total_cents, version, created_at, updated_at, tenant_id)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::bigint[], $7::int[], $8::timestamptz[], $9::timestamptz[], $10::text[])
             ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, items = EXCLUDED.items, address = EXCLUDED.address,
               total_cents = EXCLUDED.total_cents, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at
             WHERE ${t}.version < EXCLUDED.version`,
      values: [
        changed.map((r) => r.state.orderId),
        changed.map((r) => r.state.customerId),
        changed.map((r) => r.state.status),
        changed.map((r) => JSON.stringify(r.state.items)),
        changed.map((r) => (r.state.address ? JSON.stringify(r.state.address) : null)),
        changed.map((r) => r.state.totalCents),
        changed.map((r) => r.version),
        changed.map((r) => r.createdAt),
        changed.map((r) => r.updatedAt),
        changed.map((r) => r.tenantId),
      ],
    });
  },
};
