/**
 * The edge's request path, a raw handler in front of Express (only the
 * kit's and the purge API's paths skip it): GET and HEAD are answered from
 * the store when RFC 9111 allows (http-cache-semantics decides freshness,
 * Vary and revalidation), stale while revalidating or on origin errors when
 * RFC 5861 allows, and misses of one key share one origin fetch; every other
 * method streams to the origin and, when it succeeds, drops the URL's copy.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import CachePolicy from 'http-cache-semantics';
import type { Logger } from 'pino';
import type { RawRequest, RawRequestHandler } from '@bulwark/service-kit';
import { isCompressible, MIN_COMPRESS_BYTES, negotiateCoding } from '../cache/encoding.ts';
import { cacheKey, pathOfKey } from '../cache/key.ts';
import { selectRange } from '../cache/range.ts';
import { varyFieldsOf, varyValuesOf, type EdgeStore, type Variant } from '../cache/store.ts';
import type { EdgeMetrics } from '../metrics.ts';
import { forwardHeaders, responseHeadersForClient, type Origin, type OriginResponse } from './origin.ts';

export interface EdgeHandlerDeps {
  store: EdgeStore;
  origin: Origin;
  metrics: EdgeMetrics;
  maxObjectBytes: number;
  log: Logger;
}

type Outcome = 'hit' | 'stale' | 'stale_if_error' | 'revalidated' | 'miss' | 'collapsed';

/** What one origin fetch for a key produced: a stored variant (waiters may share it) or a response only its requester may have. */
type FetchResult = { kind: 'stored'; variant: Variant; revalidated: boolean } | { kind: 'pass'; response: OriginResponse; prefix: Buffer[] } | { kind: 'origin-error'; response: OriginResponse };

interface Edge {
  handler: RawRequestHandler;
  /** Fetches `path` on `host` into the store (warming); resolves with whether it was stored. */
  warm(host: string, path: string): Promise<boolean>;
}

const CONDITIONAL = { 'accept-encoding': 'identity', range: undefined, 'if-range': undefined, 'if-none-match': undefined, 'if-modified-since': undefined } as const;

export function createEdge(deps: EdgeHandlerDeps): Edge {
  const { store, origin, metrics, log } = deps;
  const inflight = new Map<string, Promise<FetchResult>>();

  /** One origin fetch per key at a time: the first caller starts it, the others await the same promise. */
  function fetchShared(key: string, req: IncomingMessage, preq: CachePolicy.Request, stale: Variant | undefined, trace: Record<string, string> = {}): { result: Promise<FetchResult>; leader: boolean } {
    const running = inflight.get(key);
    if (running) return { result: running, leader: false };
    const result = fetchForKey(key, req, preq, stale, trace).finally(() => inflight.delete(key));
    inflight.set(key, result);
    return { result, leader: true };
  }

  async function fetchForKey(key: string, req: IncomingMessage, preq: CachePolicy.Request, stale: Variant | undefined, trace: Record<string, string> = {}): Promise<FetchResult> {
    const conditional: Record<string, string | undefined> = { ...CONDITIONAL };
    if (stale?.etag) conditional['if-none-match'] = stale.etag;
    else if (stale?.lastModified) conditional['if-modified-since'] = stale.lastModified;
    metrics.originRequests.inc({ kind: stale ? 'revalidate' : 'fetch' });
    const response = await origin.request({ method: 'GET', path: pathOfKey(key), headers: forwardHeaders(req, { ...conditional, ...trace }) });
    if (stale && response.status === 304) {
      await response.body.dump();
      const { policy, modified } = stale.policy.revalidatedPolicy(preq, { status: 304, headers: policyHeaders(response.headers) });
      stale.policy = policy;
      if (!modified) return { kind: 'stored', variant: stale, revalidated: true };
    }
    if (response.status >= 500 && stale && staleIfErrorAllows(stale)) return { kind: 'origin-error', response };
    return readForStore(key, preq, response);
  }

  /** Reads a storable response into a variant and stores it; anything else is handed back to stream. */
  async function readForStore(key: string, preq: CachePolicy.Request, response: OriginResponse): Promise<FetchResult> {
    const { headers } = response;
    const policy = new CachePolicy(preq, { status: response.status, headers: policyHeaders(headers) }, { shared: true });
    const varyFields = varyFieldsOf(headerText(headers.vary));
    const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
    const worthKeeping = policy.timeToLive() > 0 || headers.etag !== undefined || headers['last-modified'] !== undefined;
    if (!policy.storable() || !worthKeeping || varyFields === undefined || headers['set-cookie'] !== undefined || response.status === 206 || (declared !== undefined && declared > deps.maxObjectBytes)) {
      return { kind: 'pass', response, prefix: [] };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > deps.maxObjectBytes) return { kind: 'pass', response, prefix: chunks };
    }
    const cc = parseCacheControl(headerText(headers['cache-control']));
    const variant: Variant = {
      policy,
      status: response.status,
      body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
      varyFields,
      varyValues: varyValuesOf(varyFields, preq.headers),
      surrogateKeys: (headerText(headers['surrogate-key']) ?? '').split(/\s+/).filter((k) => k !== ''),
      etag: headerText(headers.etag),
      lastModified: headerText(headers['last-modified']),
      contentType: headerText(headers['content-type']),
      staleIfErrorSeconds: cc['must-revalidate'] || cc['proxy-revalidate'] ? 0 : Number(cc['stale-if-error'] ?? 0) || 0,
      encoded: {},
      encodedBytes: 0,
    };
    store.put(key, variant);
    metrics.storeBytes.set(store.bytes);
    metrics.storeObjects.set(store.objects);
    return { kind: 'stored', variant, revalidated: false };
  }

  async function serveCacheable(req: IncomingMessage, res: ServerResponse, request: RawRequest): Promise<void> {
    const key = cacheKey(req.headers.host, req.url ?? '/');
    const preq = policyRequest(req, key);
    const stored = store.lookup(key, req.headers);
    if (stored) {
      if (req.headers['cache-control'] === undefined && req.headers.pragma === undefined && !stored.policy.stale()) return sendStored(req, res, key, stored, 'hit');
      const verdict = stored.policy.evaluateRequest(preq);
      if (verdict.response && !verdict.revalidation) return sendStored(req, res, key, stored, 'hit');
      if (verdict.response && verdict.revalidation && !verdict.revalidation.synchronous) {
        // stale-while-revalidate: this client gets the stored copy now, one background fetch refreshes it.
        fetchShared(key, req, preq, stored, traceOf(request)).result.catch((err: unknown) => request.log.warn({ err, key }, 'background revalidation failed; the stale copy stays'));
        return sendStored(req, res, key, stored, 'stale');
      }
    }
    let fetched: { result: Promise<FetchResult>; leader: boolean };
    let result: FetchResult;
    try {
      fetched = fetchShared(key, req, preq, stored, traceOf(request));
      if (fetched.leader) result = await fetched.result;
      else {
        metrics.collapsedWaiting.inc();
        try {
          result = await fetched.result;
        } finally {
          metrics.collapsedWaiting.dec();
        }
      }
      if (!fetched.leader && (result.kind !== 'stored' || !store.lookup(key, req.headers))) {
        // The shared fetch gave something this request may not reuse (not storable, another Vary value): its own fetch.
        fetched = { result: fetchForKey(key, req, preq, stored, traceOf(request)), leader: true };
        result = await fetched.result;
      }
    } catch (err) {
      if (stored && staleIfErrorAllows(stored)) {
        request.log.warn({ err, key }, 'origin failed; serving the stored copy (stale-if-error)');
        return sendStored(req, res, key, stored, 'stale_if_error');
      }
      throw err;
    }
    if (result.kind === 'stored') {
      const outcome: Outcome = !fetched.leader ? 'collapsed' : result.revalidated ? 'revalidated' : 'miss';
      return sendStored(req, res, key, store.lookup(key, req.headers) ?? result.variant, outcome);
    }
    if (result.kind === 'origin-error') {
      if (fetched.leader) await result.response.body.dump();
      return sendStored(req, res, key, stored!, 'stale_if_error');
    }
    metrics.requests.inc({ outcome: 'pass' });
    res.writeHead(result.response.status, { ...responseHeadersForClient(result.response.headers), 'x-cache': 'PASS' });
    if (req.method === 'HEAD') return void (await result.response.body.dump());
    for (const chunk of result.prefix) res.write(chunk);
    await pipeline(result.response.body, res);
  }

  async function sendStored(req: IncomingMessage, res: ServerResponse, key: string, variant: Variant, outcome: Outcome): Promise<void> {
    metrics.requests.inc({ outcome });
    const headers = variant.policy.responseHeaders() as Record<string, string>;
    // The origin's request id and trace belong to the request that filled the entry; the kit adds this request's.
    delete headers['surrogate-key'];
    delete headers['x-request-id'];
    delete headers.traceparent;
    headers['x-cache'] = outcome.toUpperCase();
    let status = variant.status;
    if (notModified(req, variant)) {
      delete headers['content-length'];
      res.writeHead(304, headers);
      res.end();
      return;
    }
    let body = variant.body;
    const range = req.headers.range;
    if (status === 200) headers['accept-ranges'] = 'bytes';
    const compressible = isCompressible(variant.contentType) && headers['content-encoding'] === undefined && body.length >= MIN_COMPRESS_BYTES;
    if (compressible) headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : 'Accept-Encoding';
    if (range !== undefined && status === 200) {
      const answer = selectRange(range, body.length, headerText(req.headers['if-range']), variant.etag);
      if (answer.kind === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'content-range': `bytes */${body.length}`, 'content-length': '0' });
        res.end();
        return;
      }
      if (answer.kind === 'partial') {
        status = 206;
        headers['content-range'] = `bytes ${answer.start}-${answer.end}/${body.length}`;
        body = body.subarray(answer.start, answer.end + 1);
      }
    } else if (compressible) {
      const coding = negotiateCoding(headerText(req.headers['accept-encoding']));
      if (coding !== 'identity') {
        body = await store.encoded(key, variant, coding);
        headers['content-encoding'] = coding;
        // The coded bytes differ from the identity ones: a strong tag must not name both.
        if (variant.etag && !variant.etag.startsWith('W/')) headers.etag = `W/${variant.etag}`;
      }
    }
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    if (req.method === 'HEAD') return void res.end();
    res.end(body);
    metrics.bytesServed.inc(body.length);
    if (outcome !== 'miss' && outcome !== 'revalidated') metrics.bytesSaved.inc(variant.body.length);
  }

  async function pass(req: IncomingMessage, res: ServerResponse, request: RawRequest): Promise<void> {
    metrics.requests.inc({ outcome: 'pass' });
    metrics.originRequests.inc({ kind: 'pass' });
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const response = await origin.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers: forwardHeaders(req, traceOf(request)), ...(hasBody ? { body: req } : {}) });
    // RFC 9111 §4.4: a successful unsafe request invalidates the stored copy of its URL.
    if (response.status < 400 && store.delete(cacheKey(req.headers.host, req.url ?? '/'))) metrics.storeObjects.set(store.objects);
    res.writeHead(response.status, responseHeadersForClient(response.headers));
    await pipeline(response.body, res);
  }

  const handler: RawRequestHandler = (req, res, request) => {
    request.markRoute('/{*path}');
    const cacheable = req.method === 'GET' || req.method === 'HEAD';
    (cacheable ? serveCacheable(req, res, request) : pass(req, res, request)).catch((err: unknown) => {
      if (!res.headersSent) request.fail(err);
      else res.destroy(err as Error);
    });
    return true;
  };

  async function warm(host: string, path: string): Promise<boolean> {
    const key = cacheKey(host, path);
    const headers = { host: key.slice(0, key.indexOf('/')), 'accept-encoding': 'identity' };
    const preq = { url: pathOfKey(key), method: 'GET', headers };
    const fake = { headers, socket: { remoteAddress: '' } } as unknown as IncomingMessage;
    const { result } = fetchShared(key, fake, preq, store.lookup(key, headers));
    const outcome = await result;
    if (outcome.kind !== 'stored') await outcome.response.body.dump();
    log.debug({ key, stored: outcome.kind === 'stored' }, 'warmed');
    return outcome.kind === 'stored';
  }

  return { handler, warm };
}

/** This request's id and trace for the origin (the client's own x-request-id, if any, is replaced by the kit's echo of it). */
function traceOf(request: RawRequest): Record<string, string> {
  return { 'x-request-id': request.requestId, ...request.propagationHeaders() };
}

/** The request as http-cache-semantics sees it: the normalised host and path, so that every spelling of a URL matches its entry. */
function policyRequest(req: IncomingMessage, key: string): CachePolicy.Request {
  return { url: pathOfKey(key), method: 'GET', headers: { ...(req.headers as CachePolicy.Headers), host: key.slice(0, key.indexOf('/')) } };
}

function policyHeaders(headers: IncomingHttpHeaders): CachePolicy.Headers {
  return headers as CachePolicy.Headers;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value.join(', ') : value;
}

/** RFC 5861 §4: a stale copy may answer an error while its age is within freshness + stale-if-error. */
function staleIfErrorAllows(v: Variant): boolean {
  return v.staleIfErrorSeconds > 0 && v.policy.age() < v.policy.maxAge() + v.staleIfErrorSeconds;
}

/** If-None-Match (weak comparison, RFC 9110 §13.1.2) or, without it, If-Modified-Since against the stored copy. */
function notModified(req: IncomingMessage, v: Variant): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) {
    if (!v.etag) return false;
    const opaque = (t: string) => t.trim().replace(/^W\//, '');
    const mine = opaque(v.etag);
    return inm.split(',').some((t) => t.trim() === '*' || opaque(t) === mine);
  }
  const ims = req.headers['if-modified-since'];
  if (ims !== undefined && v.lastModified) {
    const since = Date.parse(ims);
    const modified = Date.parse(v.lastModified);
    return Number.isFinite(since) && Number.isFinite(modified) && modified <= since;
  }
  return false;
}

function parseCacheControl(value: string | undefined): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  if (!value) return out;
  for (const part of value.split(',')) {
    const [name = '', arg] = part.split('=');
    const k = name.trim().toLowerCase();
    if (k) out[k] = arg === undefined ? true : arg.trim().replace(/^"|"$/g, '');
  }
  return out;
}
