/**
 * Compression at the edge: the origin is asked for identity bodies, the
 * edge stores those and compresses on demand (once per object and coding,
 * kept beside it), so one entry serves br, gzip and identity clients.
 */

export type Coding = 'br' | 'gzip' | 'identity';

/** Smaller bodies are not worth a coding (headers and framing eat the gain). */
export const MIN_COMPRESS_BYTES = 1_024;

const COMPRESSIBLE = /^(text\/|application\/(json|javascript|xml|.*\+json|.*\+xml)|image\/svg\+xml)/i;

/** Whether a body of `contentType` is worth compressing (text-like; images and video are compressed already). */
export function isCompressible(contentType: string | undefined): boolean {
  return contentType !== undefined && COMPRESSIBLE.test(contentType);
}

/** The coding to send for an Accept-Encoding header: br, then gzip, by the client's q-values; identity when neither is acceptable. */
export function negotiateCoding(acceptEncoding: string | undefined): Coding {
  if (!acceptEncoding) return 'identity';
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of acceptEncoding.split(',')) {
    const [rawName = '', ...params] = part.split(';');
    const name = rawName.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (name === 'br') br = q;
    else if (name === 'gzip' || name === 'x-gzip') gzip = q;
    else if (name === '*') star = q;
  }
  if (br < 0) br = star;
  if (gzip < 0) gzip = star;
  if (br > 0 && br >= gzip) return 'br';
  if (gzip > 0) return 'gzip';
  return 'identity';
}
