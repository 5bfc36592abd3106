/**
 * Uploads end to end against the real S3 server, clamd, PostgreSQL and
 * Kafka: pre-signed PUT into quarantine, scan, promotion, pre-signed GET;
 * the EICAR file and a lying content type never become downloadable; limits
 * and quotas are refused before any byte is sent; a delete removes the
 * derived objects too.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { deleteTopics, eventually, PROBLEM, readTopic, suffix } from '@bulwark/test-support';
import { call, EICAR, PNG, setupFiles, upload, type TestFiles } from './support.ts';

let t: TestFiles;
beforeEach(async () => {
  t = await setupFiles();
}, 600_000);
afterEach(async () => {
  await t.cleanup();
});

const statusOf = async (url: string, id: string): Promise<string> => (await call(url, 'GET', `/v1/files/${id}`)).body.status as string;
const exists = async (bucket: string, key: string): Promise<boolean> =>
  t.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );

describe('uploads', () => {
  it('when a PNG is uploaded, then it is scanned clean, promoted out of quarantine and downloadable by a pre-signed GET', async () => {
    const { url } = await t.start();
    const { id, put, completed } = await upload(url, 'pixel.png', 'image/png', PNG);
    expect(put).toBe(200);
    expect(completed.status).toBe(202);
    expect(['quarantined', 'clean']).toContain(completed.body.status);
    await eventually('the scan', () => statusOf(url, id), (s) => s === 'clean');
    const file = (await call(url, 'GET', `/v1/files/${id}`)).body;
    expect(file).toMatchObject({ status: 'clean', detectedType: 'image/png', rejectReason: null, size: PNG.length });
    const key = `tenant-a/${id}/original`;
    expect(await exists(t.buckets.quarantine, key)).toBe(false);
    const download = await call(url, 'GET', `/v1/files/${id}/download`);
    expect(download.status).toBe(200);
    const got = await fetch(download.body.url as string);
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(PNG);
    expect(got.headers.get('content-disposition')).toContain('pixel.png');
  });

  it('when the EICAR test file is uploaded, then it is rejected as infected, removed, and never downloadable', async () => {
    const { url } = await t.start();
    const { id } = await upload(url, 'eicar.txt', 'text/plain', Buffer.from(EICAR, 'latin1'));
    // Before and after the scan alike, no download URL is handed out.
    const early = await call(url, 'GET', `/v1/files/${id}/download`);
    expect(early.status).toBe(409);
    await eventually('the scan', () => statusOf(url, id), (s) => s === 'rejected');
    const file = (await call(url, 'GET', `/v1/files/${id}`)).body;
    expect(file.rejectReason).toBe('infected');
    const download = await call(url, 'GET', `/v1/files/${id}/download`);
    expect(download.status).toBe(409);
    expect(download.headers.get('content-type')).toContain(PROBLEM);
    expect(download.body).toMatchObject({ code: 'FILES_NOT_CLEAN', status: 409, rejectReason: 'infected' });
    expect(await exists(t.buckets.quarantine, `tenant-a/${id}/original`)).toBe(false);
    expect(await exists(t.buckets.clean, `tenant-a/${id}/original`)).toBe(false);
    const { rows } = await t.db.query<{ signature: string }>('SELECT signature FROM files WHERE id = $1', [id]);
    expect(rows[0]?.signature).toMatch(/EICAR/);
  });

  it('when the bytes are not of the declared type, then the file is rejected as type_mismatch', async () => {
    const { url } = await t.start();
    const { id } = await upload(url, 'report.pdf', 'application/pdf', PNG);
    await eventually('the scan', () => statusOf(url, id), (s) => s === 'rejected');
    expect((await call(url, 'GET', `/v1/files/${id}`)).body).toMatchObject({ rejectReason: 'type_mismatch', detectedType: 'image/png' });
  });

  it('when the PUT sends other bytes than declared, then the signed URL refuses them and complete finds nothing', async () => {
    const { url } = await t.start();
    const asked = await call(url, 'POST', '/v1/files', { name: 'a.txt', contentType: 'text/plain', size: 5 });
    expect(asked.status).toBe(201);
    const put = await fetch(asked.body.upload.url as string, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'more than five bytes' });
    await put.arrayBuffer();
    expect(put.status).toBeGreaterThanOrEqual(400);
    const completed = await call(url, 'POST', `/v1/files/${asked.body.file.id}/complete`);
    expect(completed.status).toBe(409);
    expect(completed.body.code).toBe('FILES_NOT_UPLOADED');
  });

  it('when the type is not allowed, the size is above the limit or the quota would be passed, then the request is refused before any byte', async () => {
    const { url } = await t.start({ MAX_FILE_BYTES: '1000', TENANT_QUOTA_BYTES: '1500' });
    const exe = await call(url, 'POST', '/v1/files', { name: 'x.exe', contentType: 'application/x-msdownload', size: 10 });
    expect(exe.status).toBe(415);
    expect(exe.body.code).toBe('FILES_TYPE_NOT_ALLOWED');
    const big = await call(url, 'POST', '/v1/files', { name: 'big.txt', contentType: 'text/plain', size: 1001 });
    expect(big.status).toBe(413);
    expect(big.body).toMatchObject({ code: 'FILES_TOO_LARGE', maxBytes: 1000 });
    expect((await call(url, 'POST', '/v1/files', { name: 'a.txt', contentType: 'text/plain', size: 1000 })).status).toBe(201);
    expect((await call(url, 'GET', '/v1/files/quota')).body).toMatchObject({ usedBytes: 1000, quotaBytes: 1500, maxFileBytes: 1000 });
    const over = await call(url, 'POST', '/v1/files', { name: 'b.txt', contentType: 'text/plain', size: 600 });
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ code: 'FILES_QUOTA_EXCEEDED', usedBytes: 1000, quotaBytes: 1500 });
    const bad = await call(url, 'POST', '/v1/files', { name: 'a/b', contentType: 'text/plain', size: 0 });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain(PROBLEM);
    const anonymous = await call(url, 'GET', '/v1/files', undefined, { 'x-auth-sub': '' });
    expect(anonymous.status).toBe(401);
  });

  it("when a file is deleted, then its object and every derived object are gone, and another tenant never sees it", async () => {
    const { url } = await t.start();
    const { id } = await upload(url, 'pixel.png', 'image/png', PNG);
    await eventually('the scan', () => statusOf(url, id), (s) => s === 'clean');
    const key = `tenant-a/${id}/original`;
    // A derived object (a thumbnail) under the file's prefix, as image processing writes them.
    await t.s3.send(new PutObjectCommand({ Bucket: t.buckets.clean, Key: `tenant-a/${id}/thumb-64.webp`, Body: 'thumb' }));
    expect((await call(url, 'GET', `/v1/files/${id}`, undefined, { 'x-auth-tenant': 'tenant-b' })).status).toBe(404);
    expect((await call(url, 'DELETE', `/v1/files/${id}`, undefined, { 'x-auth-sub': 'someone-else' })).status).toBe(404);
    expect((await call(url, 'DELETE', `/v1/files/${id}`)).status).toBe(204);
    expect(await exists(t.buckets.clean, key)).toBe(false);
    expect(await exists(t.buckets.clean, `tenant-a/${id}/thumb-64.webp`)).toBe(false);
    expect((await call(url, 'GET', `/v1/files/${id}`)).status).toBe(404);
  });

  it('when files are scanned with events on, then each verdict is published as a CloudEvent keyed by file id', async () => {
    const topic = `files-events-${suffix()}`;
    const { url } = await t.start({ EVENTS_ENABLED: 'true', FILES_TOPIC: topic });
    const clean = await upload(url, 'pixel.png', 'image/png', PNG);
    const infected = await upload(url, 'eicar.txt', 'text/plain', Buffer.from(EICAR, 'latin1'));
    const seen = await readTopic<{ rejectReason: string | null }>(topic, 2, { clientId: 'files-test-reader' }).finally(() => deleteTopics(topic));
    const byKey = new Map(seen.map((s) => [s.key, s]));
    expect(byKey.get(clean.id)?.type).toBe('com.bulwark.files.clean');
    expect(byKey.get(infected.id)).toMatchObject({ type: 'com.bulwark.files.rejected', data: { rejectReason: 'infected' } });
  });
});
