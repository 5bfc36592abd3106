/**
 * Image derivatives: a clean JPEG carrying EXIF (a copyright and a
 * rotation) gets WebP thumbnails of two sizes and an AVIF beside it, each
 * downloadable by a pre-signed GET, oriented and with no EXIF left; a delete
 * removes them with the original.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { eventually } from '@bulwark/test-support';
import { call, setupFiles, upload, type TestFiles } from './support.ts';

let t: TestFiles;
beforeEach(async () => {
  t = await setupFiles();
}, 600_000);
afterEach(async () => {
  await t.cleanup();
});

describe('image derivatives', () => {
  it('when a JPEG with EXIF is scanned clean, then its thumbnails exist in WebP and AVIF, oriented, without EXIF, and go with it on delete', async () => {
    const { url } = await t.start();
    // 800×400, EXIF orientation 6 (rotate 90°): displayed 400×800.
    const jpeg = await sharp({ create: { width: 800, height: 400, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .withExif({ IFD0: { Copyright: 'secret owner' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await sharp(jpeg).metadata()).toMatchObject({ orientation: 6, exif: expect.any(Buffer) });
    const { id } = await upload(url, 'photo.jpg', 'image/jpeg', jpeg);
    const file = await eventually('the scan', async () => (await call(url, 'GET', `/v1/files/${id}`)).body as { status: string; derivatives: string[] }, (f) => f.status === 'clean');
    expect(file.derivatives).toEqual(['thumb-128.webp', 'thumb-512.webp', 'thumb-512.avif']);

    const fetchDerivative = async (name: string): Promise<Buffer> => {
      const signed = await call(url, 'GET', `/v1/files/${id}/derivatives/${name}`);
      expect(signed.status).toBe(200);
      return Buffer.from(await (await fetch(signed.body.url as string)).arrayBuffer());
    };
    const small = await sharp(await fetchDerivative('thumb-128.webp')).metadata();
    expect(small).toMatchObject({ format: 'webp', width: 64, height: 128 });
    expect(small.exif).toBeUndefined();
    const avif = await sharp(await fetchDerivative('thumb-512.avif')).metadata();
    expect(avif.format).toBe('heif');
    expect(avif.exif).toBeUndefined();
    expect((await call(url, 'GET', `/v1/files/${id}/derivatives/thumb-999.webp`)).status).toBe(404);

    expect((await call(url, 'DELETE', `/v1/files/${id}`)).status).toBe(204);
    const gone = await t.s3.send(new HeadObjectCommand({ Bucket: t.buckets.clean, Key: `tenant-a/${id}/thumb-128.webp` })).then(
      () => false,
      () => true,
    );
    expect(gone).toBe(true);
  });
});
