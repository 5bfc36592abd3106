/**
 * The journey's upload step: the new customer asks files (through the
 * gateway) to upload a small text file, PUTs it straight to the object
 * storage with the pre-signed URL and its signed headers, completes it, waits
 * for clamd's clean verdict, and downloads it back through a pre-signed GET.
 */
import { call as send, waitFor } from '@bulwark/test-support';
import type { PlatformUrls, Step } from '../journey.ts';

export async function uploadAFile(urls: PlatformUrls, customer: string, step: (s: Step) => void): Promise<void> {
  const auth = { authorization: `Bearer ${customer}` };
  const fail = (s: Step, why: string) => new Error(`journey step "${s.name}" (${s.method} ${s.path}) answered ${s.status}: ${why} ${JSON.stringify(s.body)}`);
  const bytes = Buffer.from('Receipt notes: the moka pot arrived in good shape.\n');

  const asked: Step = { name: 'ask to upload a file', method: 'POST', path: '/v1/files', ...(await send(urls.gateway, 'POST', '/v1/files', { name: 'notes.txt', contentType: 'text/plain', size: bytes.length }, auth)) };
  step(asked);
  const ticket = asked.body as { file?: { id: string }; upload?: { url: string; headers: Record<string, string> } };
  if (asked.status !== 201 || !ticket.file || !ticket.upload) throw fail(asked, 'no upload ticket');

  const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes });
  await put.body?.cancel();
  const stored: Step = { name: 'PUT the bytes to the pre-signed URL (storage, not the gateway)', method: 'PUT', path: '<pre-signed>', status: put.status, body: undefined };
  step(stored);
  if (put.status !== 200) throw fail(stored, 'storage refused the upload');

  const filePath = `/v1/files/${ticket.file.id}`;
  const completed: Step = { name: 'complete the upload: into quarantine', method: 'POST', path: `${filePath}/complete`, ...(await send(urls.gateway, 'POST', `${filePath}/complete`, undefined, auth)) };
  step(completed);
  if (completed.status !== 202) throw fail(completed, 'not accepted for scanning');

  let scanned: Step = { name: 'the scanner finds it clean', method: 'GET', path: filePath, status: 0, body: undefined };
  await waitFor(async () => {
    scanned = { ...scanned, ...(await send(urls.gateway, 'GET', filePath, undefined, auth)) };
    return (scanned.body as { status?: string } | undefined)?.status !== 'quarantined';
  }, 'the scan verdict', 30_000, 200).catch(() => undefined); // judged below
  step(scanned);
  if ((scanned.body as { status?: string } | undefined)?.status !== 'clean') throw fail(scanned, 'not clean');

  const download: Step = { name: 'get a pre-signed download', method: 'GET', path: `${filePath}/download`, ...(await send(urls.gateway, 'GET', `${filePath}/download`, undefined, auth)) };
  step(download);
  const url = (download.body as { url?: string } | undefined)?.url;
  if (download.status !== 200 || !url) throw fail(download, 'no download URL');
  const got = Buffer.from(await (await fetch(url)).arrayBuffer());
  if (!got.equals(bytes)) throw fail(download, 'the downloaded bytes differ from the uploaded ones');
}
