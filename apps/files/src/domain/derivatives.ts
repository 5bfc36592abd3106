/**
 * Image derivatives of a clean file (sharp): thumbnails in several sizes as
 * WebP and one AVIF, oriented by the EXIF orientation and then stripped of
 * every metadata block (EXIF, XMP, ICC beyond sRGB: sharp writes none unless
 * asked), never enlarged. Only images whose type the scanner confirmed reach
 * here; one that sharp cannot decode gets no derivatives, not a rejection.
 */
import sharp from 'sharp';

export interface Derivative {
  name: string;
  contentType: string;
  body: Buffer;
}

const THUMB_SIZES = [128, 512] as const;

export const derivesFrom = (contentType: string): boolean => ['image/png', 'image/jpeg', 'image/gif', 'image/webp'].includes(contentType);

export async function deriveImage(original: Buffer): Promise<Derivative[]> {
  const out: Derivative[] = [];
  for (const size of THUMB_SIZES) {
    const body = await sharp(original, { limitInputPixels: 50_000_000 }).rotate().resize(size, size, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 80 }).toBuffer();
    out.push({ name: `thumb-${size}.webp`, contentType: 'image/webp', body });
  }
  const avif = await sharp(original, { limitInputPixels: 50_000_000 }).rotate().resize(512, 512, { fit: 'inside', withoutEnlargement: true }).avif({ quality: 50, effort: 2 }).toBuffer();
  out.push({ name: 'thumb-512.avif', contentType: 'image/avif', body: avif });
  return out;
}
