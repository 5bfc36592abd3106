/**
 * WAL positions (LSNs, "X/Y": two 32-bit hex halves) and the one place the
 * relay tells PostgreSQL how far it has got.
 *
 * For a logical slot the flush position a client confirms becomes the slot's
 * confirmed_flush_lsn, and a restarted stream skips every transaction whose
 * COMMIT record starts before it. The relay only ever confirms a position
 * that nothing unsent starts before: a keepalive's WAL end while nothing is
 * pending, or a Kafka-confirmed transaction's commit end. Confirming one byte
 * more skips a COMMIT that starts exactly there, and pg-logical-replication
 * 2.5's `acknowledge(x)` reports x + 1 (it reads the field as "last byte + 1"
 * of a physical standby). So the relay hands it x − 1: the server records x.
 * Should the library stop adding one, the server records x − 1, which is
 * safe (at worst a redelivery of what Kafka already has); the relay's
 * integration test reads confirmed_flush_lsn back and fails either way, so an
 * upgrade cannot change this unnoticed.
 */

export const ZERO_LSN = '0/0';

const LSN = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i;

/** The LSN as a 64-bit number; throws on anything that is not "X/Y" hex. */
export function parseLsn(lsn: string): bigint {
  const m = LSN.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(lsn)}`);
  return (BigInt(`0x${m[1]!}`) << 32n) | BigInt(`0x${m[2]!}`);
}

/** PostgreSQL's own spelling: upper-case hex halves without leading zeros. */
export function formatLsn(value: bigint): string {
  if (value < 0n || value > 0xffff_ffff_ffff_ffffn) throw new RangeError(`LSN out of range: ${value}`);
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

export function compareLsn(a: string, b: string): number {
  const d = parseLsn(a) - parseLsn(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** What the relay needs of the replication client: pg-logical-replication's acknowledge. */
export interface StandbyStatusSender {
  acknowledge(lsn: string, ping?: boolean): Promise<boolean>;
}

/**
 * Sends a standby status update that confirms exactly `lsn` (nothing that
 * starts at or after it counts as delivered). A zero position is never sent:
 * it would move the slot's confirmed position back to the start of the WAL.
 * Returns false when nothing was sent.
 */
export async function confirmExactly(sender: StandbyStatusSender, lsn: string, ping = false): Promise<boolean> {
  const value = parseLsn(lsn);
  if (value === 0n) return false;
  return sender.acknowledge(formatLsn(value - 1n), ping);
}
