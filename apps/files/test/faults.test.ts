/**
 * Process faults of the scanner's two dependencies, each a real process of
 * its own (scripts/infra's clamd and versitygw, started privately on free
 * ports: the shared ones are never stopped) killed with SIGKILL: uploads
 * stay quarantined, are not lost and not served, and finish when the
 * process returns.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { eventually, freePort } from '@bulwark/test-support';
import { createClamdInstance, type ClamdInstance } from '../../../scripts/infra/clamd.ts';
import { createS3Instance, type S3Instance } from '../../../scripts/infra/s3.ts';
import { call, EICAR, PNG, setupFiles, upload, type TestFiles } from './support.ts';

let t: TestFiles;
let dir: string;
const started: { down(): Promise<void> }[] = [];
beforeEach(async () => {
  t = await setupFiles();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-files-faults-'));
}, 600_000);
afterEach(async () => {
  await t.cleanup();
  for (const s of started.splice(0)) await s.down();
  fs.rmSync(dir, { recursive: true, force: true });
});

const fileOf = async (url: string, id: string): Promise<{ status: string; scanAttempts: number; rejectReason: string | null }> => (await call(url, 'GET', `/v1/files/${id}`)).body;

async function privateClamd(): Promise<ClamdInstance> {
  const clamd = createClamdInstance({ name: 'clamd-fault', dir: path.join(dir, 'clamd'), port: await freePort() });
  started.push(clamd);
  await clamd.up();
  return clamd;
}

async function privateS3(): Promise<S3Instance> {
  const s3 = createS3Instance({ name: 's3-fault', dir: path.join(dir, 's3'), port: await freePort() });
  started.push(s3);
  await s3.up();
  return s3;
}

describe('faults', () => {
  it('when clamd is SIGKILLed, then uploads stay quarantined and undownloadable through failed attempts, and are decided when it returns', async () => {
    const clamd = await privateClamd();
    const { url } = await t.start({ CLAMD_PORT: String(clamd.port) });
    await clamd.kill('SIGKILL');
    const clean = await upload(url, 'pixel.png', 'image/png', PNG);
    const infected = await upload(url, 'eicar.txt', 'text/plain', Buffer.from(EICAR, 'latin1'));
    expect(clean.completed.status).toBe(202);
    // Several attempts fail (nothing listens); the files wait in quarantine.
    await eventually('failed scan attempts', () => fileOf(url, clean.id), (f) => f.scanAttempts >= 2);
    for (const id of [clean.id, infected.id]) {
      expect((await fileOf(url, id)).status).toBe('quarantined');
      expect((await call(url, 'GET', `/v1/files/${id}/download`)).status).toBe(409);
    }
    const { rows } = await t.db.query<{ last_scan_error: string }>('SELECT last_scan_error FROM files WHERE id = $1', [clean.id]);
    expect(rows[0]?.last_scan_error).toMatch(/ECONNREFUSED|closed|timed out/);

    await clamd.up();
    await eventually('the clean verdict', () => fileOf(url, clean.id), (f) => f.status === 'clean');
    await eventually('the infected verdict', () => fileOf(url, infected.id), (f) => f.status === 'rejected');
    expect((await fileOf(url, infected.id)).rejectReason).toBe('infected');
    expect((await call(url, 'GET', `/v1/files/${clean.id}/download`)).status).toBe(200);
    expect((await call(url, 'GET', `/v1/files/${infected.id}/download`)).status).toBe(409);
  });

  it('when the S3 server is SIGKILLed with uploads in quarantine, then they wait through failed attempts, keep their bytes, and are promoted when it returns', async () => {
    const s3 = await privateS3();
    const env = { S3_URL: s3.url };
    // Uploads land while no scanner runs, so the server dies with them still in quarantine.
    const { url: front } = await t.start({ ...env, SCANNER_ENABLED: 'false' });
    const a = await upload(front, 'pixel.png', 'image/png', PNG);
    const b = await upload(front, 'notes.txt', 'text/plain', Buffer.from('plain words\n'));
    await s3.kill('SIGKILL');
    const { url } = await t.start(env);
    await eventually('failed scan attempts', () => fileOf(url, a.id), (f) => f.scanAttempts >= 2);
    expect((await fileOf(url, a.id)).status).toBe('quarantined');
    expect((await fileOf(url, b.id)).status).toBe('quarantined');
    // Reads still answer from PostgreSQL; a delete needs the storage and says so.
    expect((await call(url, 'DELETE', `/v1/files/${b.id}`)).body.code).toBe('FILES_STORAGE_UNAVAILABLE');

    await s3.up();
    await eventually('a promoted', () => fileOf(url, a.id), (f) => f.status === 'clean');
    await eventually('b promoted', () => fileOf(url, b.id), (f) => f.status === 'clean');
    const download = await call(url, 'GET', `/v1/files/${a.id}/download`);
    const got = await fetch(download.body.url as string);
    expect(Buffer.from(await got.arrayBuffer())).toEqual(PNG);
  });

  it('when a scanner died after promoting a file but before recording it, then the next attempt records it clean without scanning again', async () => {
    const { url: front } = await t.start({ SCANNER_ENABLED: 'false' });
    const { id } = await upload(front, 'pixel.png', 'image/png', PNG);
    const key = `tenant-a/${id}/original`;
    // What the dead scanner left: the object promoted, the row still quarantined.
    await t.s3.send(new CopyObjectCommand({ Bucket: t.buckets.clean, Key: key, CopySource: `${t.buckets.quarantine}/${key}` }));
    await t.s3.send(new DeleteObjectCommand({ Bucket: t.buckets.quarantine, Key: key }));
    const { url } = await t.start();
    await eventually('the recorded verdict', () => fileOf(url, id), (f) => f.status === 'clean');
    expect((await call(url, 'GET', `/v1/files/${id}/download`)).status).toBe(200);
  });
});
