/**
 * PostgreSQL WAL positions ("16/B374D848": high and low 32-bit halves in hex)
 * as bigints, so they compare and subtract exactly.
 */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new RangeError(`not an LSN: ${JSON.stringify(text)}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(value: bigint): string {
  return `${(value >> 32n).toString(16).toUpperCase()}/${(value & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Bytes `behind` trails `ahead` by; 0 when it does not trail. */
export function lagBytes(ahead: bigint, behind: bigint): bigint {
  return ahead > behind ? ahead - behind : 0n;
}
