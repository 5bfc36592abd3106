/**
 * The content type of a file from its first bytes (magic numbers), for the
 * types the service may accept. The declared type is only a claim: an upload
 * is promoted only when its bytes say the same.
 */

/** Bytes the sniffer needs from the start of a file. */
export const SNIFF_BYTES = 16;

const startsWith = (buf: Uint8Array, bytes: readonly number[], offset = 0): boolean => bytes.every((b, i) => buf[offset + i] === b);
const ascii = (s: string): number[] => [...s].map((c) => c.charCodeAt(0));

/** The type the bytes show, or undefined when none of the known signatures matches. */
export function sniffType(head: Uint8Array): string | undefined {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(head, ascii('%PDF-'))) return 'application/pdf';
  if (looksLikeText(head)) return 'text/plain';
  return undefined;
}

/** Printable ASCII/UTF-8 and whitespace only, no NUL or other control bytes. */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  return head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b !== 0x7f));
}

/** True when the bytes show the declared type (text/plain with parameters such as a charset compares on its essence). */
export function typeMatches(declared: string, head: Uint8Array): { ok: boolean; detected: string | undefined } {
  const essence = declared.split(';')[0]!.trim().toLowerCase();
  const detected = sniffType(head);
  return { ok: detected === essence, detected };
}
