/**
 * Resumable uploads: a file larger than MULTIPART_PART_BYTES goes up as S3
 * multipart parts, each by its own pre-signed PUT against the real S3
 * server; a part that did not arrive is named on complete and handed out
 * again by the resume route; once every part is there the file is joined,
 * scanned and served like any other.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { eventually } from '@bulwark/test-support';
import { call, setupFiles, type TestFiles } from './support.ts';

let t: TestFiles;
beforeEach(async () => {
  t = await setupFiles();
}, 600_000);
afterEach(async () => {
  await t.cleanup();
});

const MIB = 1024 * 1024;

/** Printable bytes (text/plain by their magic). */
function text(n: number): Buffer {
  const raw = randomBytes(n);
  for (let i = 0; i < n; i++) raw[i] = 0x20 + (raw[i]! % 0x5f);
  return raw;
}

/** The PUT's status, or 0 when the server hung up mid-body (as it may when refusing early). */
async function putPart(url: string, bytes: Buffer): Promise<number> {
  try {
    const res = await fetch(url, { method: 'PUT', headers: { 'content-length': String(bytes.length) }, body: bytes });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

describe('multipart uploads', () => {
  it('when a part is missing at complete, then it is named and handed out again; after it arrives the file is joined, scanned and downloadable whole', async () => {
    const { url } = await t.start({ MULTIPART_PART_BYTES: String(5 * MIB), MAX_FILE_BYTES: String(20 * MIB) });
    const bytes = text(10 * MIB + 1234);
    const asked = await call(url, 'POST', '/v1/files', { name: 'big.txt', contentType: 'text/plain', size: bytes.length });
    expect(asked.status).toBe(201);
    const parts = asked.body.upload.parts as { partNumber: number; size: number; url: string }[];
    expect(parts.map((p) => p.size)).toEqual([5 * MIB, 5 * MIB, 1234]);
    expect(asked.body.upload.url).toBeUndefined();
    const slice = (n: number): Buffer => bytes.subarray((n - 1) * 5 * MIB, Math.min(n * 5 * MIB, bytes.length));
    // Parts 3 and 1 arrive (any order); part 2 is "lost" on the way.
    expect(await putPart(parts[2]!.url, slice(3))).toBe(200);
    expect(await putPart(parts[0]!.url, slice(1))).toBe(200);
    // A part of the wrong size fails its signature.
    expect(await putPart(parts[1]!.url, slice(2).subarray(1))).not.toBe(200);

    const early = await call(url, 'POST', `/v1/files/${asked.body.file.id}/complete`);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ code: 'FILES_NOT_UPLOADED', missingParts: [2] });
    const resume = await call(url, 'GET', `/v1/files/${asked.body.file.id}/parts`);
    expect(resume.status).toBe(200);
    expect(resume.body.received.map((p: { partNumber: number }) => p.partNumber).sort()).toEqual([1, 3]);
    expect(resume.body.missing.map((p: { partNumber: number }) => p.partNumber)).toEqual([2]);
    expect(await putPart(resume.body.missing[0].url as string, slice(2))).toBe(200);

    const done = await call(url, 'POST', `/v1/files/${asked.body.file.id}/complete`);
    expect(done.status).toBe(202);
    await eventually('the scan', async () => (await call(url, 'GET', `/v1/files/${asked.body.file.id}`)).body.status as string, (s) => s === 'clean');
    const download = await call(url, 'GET', `/v1/files/${asked.body.file.id}/download`);
    const got = Buffer.from(await (await fetch(download.body.url as string)).arrayBuffer());
    expect(got.equals(bytes)).toBe(true);
  });
});
