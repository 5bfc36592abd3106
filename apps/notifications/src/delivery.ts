/**
 * One signed webhook delivery attempt. The SSRF guard runs inside the socket's
 * DNS lookup, so the address checked is the address connected to.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { SIGNATURE_HEADER, signatureHeader } from '@bulwark/webhook-signature';
import { notificationsError } from './errors.ts';
import { forbiddenReason, parseEndpointUrl, type SsrfPolicy } from './ssrf.ts';

export interface DeliveryRequest {
  url: string;
  /** Serialized JSON payload. */
  body: string;
  /** Active secrets, newest first; during rotation both sign. */
  secrets: readonly string[];
  eventId: string;
  eventType: string;
  timeoutMs?: number;
  maxPayloadBytes?: number;
  ssrf?: SsrfPolicy;
  /** Aborts the request (a job handed back at shutdown). */
  signal?: AbortSignal;
}

export interface DeliveryResult {
  ok: boolean;
  status: number | undefined;
  latencyMs: number;
  /** First bytes of the response body, for the delivery log. */
  responseSnippet: string;
  error?: string;
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 256 * 1024;
const SNIPPET_BYTES = 512;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function guardedLookup(policy: SsrfPolicy) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const reason = forbiddenReason(a.address, policy);
        if (reason !== undefined) {
          return callback(Object.assign(new Error(`forbidden address ${a.address} (${reason})`), { code: 'ESSRF' }), []);
        }
      }
      if ((options as { all?: boolean }).all) return callback(null, addresses);
      callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

export async function deliver(req: DeliveryRequest): Promise<DeliveryResult> {
  const url = parseEndpointUrl(req.url);
  const size = Buffer.byteLength(req.body);
  const max = req.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  if (size > max) throw notificationsError('NOTIFICATIONS_PAYLOAD_TOO_LARGE', `payload is ${size} bytes, limit ${max}`, { size, max });
  const started = performance.now();
  // IP-literal hosts skip the lookup hook, so check them here.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const literalReason = isIP(host) !== 0 ? forbiddenReason(host, req.ssrf ?? {}) : undefined;
  if (literalReason !== undefined) {
    return { ok: false, status: undefined, latencyMs: 0, responseSnippet: '', error: `forbidden address ${host} (${literalReason})` };
  }
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<DeliveryResult>((resolve) => {
    const finish = (r: Omit<DeliveryResult, 'latencyMs'>): void => resolve({ ...r, latencyMs: performance.now() - started });
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup: guardedLookup(req.ssrf ?? {}) as never,
        timeout: req.timeoutMs ?? 10_000,
        ...(req.signal ? { signal: req.signal } : {}),
        headers: {
          'content-type': 'application/json',
          'content-length': size,
          [SIGNATURE_HEADER]: signatureHeader(req.body, req.secrets),
          'bulwark-event-id': req.eventId,
          'bulwark-event-type': req.eventType,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let got = 0;
        res.on('data', (c: Buffer) => {
          if (got < SNIPPET_BYTES) chunks.push(c);
          got += c.length;
        });
        res.on('end', () => {
          const status = res.statusCode;
          const snippet = Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8');
          finish({ ok: status !== undefined && status >= 200 && status < 300, status, responseSnippet: snippet });
        });
        res.on('error', (err) => finish({ ok: false, status: res.statusCode, responseSnippet: '', error: err.message }));
      },
    );
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', (err) => finish({ ok: false, status: undefined, responseSnippet: '', error: err.message }));
    request.end(req.body);
  });
}
