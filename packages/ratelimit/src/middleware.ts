/**
 * Express 5 middleware: runs one limiter check per request, sets the
 * RateLimit-Policy / RateLimit header fields, and answers 429 (rejected) or
 * 503 (fail-closed while Redis is unavailable) as problem+json.
 */
import { AppError, PROBLEM_CONTENT_TYPE, toProblem } from '@bulwark/errors';
import type { ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { RATE_LIMITED, RATE_LIMIT_UNAVAILABLE } from './errors.ts';
import { rateLimitHeaders, retryAfterSeconds } from './headers.ts';
import type { Decision, Hit, RateLimiter } from './rate-limiter.ts';

export interface RateLimitMiddlewareOptions {
  limiter: RateLimiter;
  /**
   * The policies that apply to this request, primary identity first (it is the
   * default scope, see README "Key design"). An empty list skips limiting.
   */
  policies: (req: Request) => readonly Hit[];
  /** Cluster hash tag for the request's keys; default: the first hit. */
  scope?: (req: Request) => string;
  /** Units the request costs; default 1. */
  cost?: (req: Request) => number;
  /** Set RateLimit-Policy / RateLimit on every response (default) or only on rejections. */
  headers?: 'always' | 'on-reject';
}

/**
 * The 429/503 refusal for a rejecting decision, complete: a denial carries its
 * RateLimit-Policy / RateLimit fields (and Retry-After), so whatever writes
 * the problem (the kit's problem writer, a raw socket) answers the same.
 */
export function decisionError(decision: Decision): AppError {
  const retry = retryAfterSeconds(decision);
  if (decision.outcome === 'unavailable') {
    return new AppError(RATE_LIMIT_UNAVAILABLE, 'The rate limiter is unavailable; try again shortly.', {
      status: 503,
      ...(retry === undefined ? {} : { retryAfterSeconds: retry }),
    });
  }
  const denied = decision.policies.filter((p) => !p.allowed).map((p) => p.name);
  // The RateLimit fields as every answer carries them; Retry-After comes from retryAfterSeconds below.
  const { 'retry-after': _retryAfter, ...headers } = rateLimitHeaders(decision);
  return new AppError(RATE_LIMITED, `Rate limit exceeded for policy ${denied.map((n) => `"${n}"`).join(', ')}.`, {
    status: 429,
    headers,
    extensions: { policies: denied },
    ...(retry === undefined ? {} : { retryAfterSeconds: retry }),
  });
}

/** The problem's `instance`: the path without the query, which may carry tokens. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function setHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name]!);
}

/**
 * Applies a decision to a node:http response: on an allowed request sets the
 * RateLimit-Policy / RateLimit fields (unless `headers` is 'on-reject') and
 * returns true, the caller goes on; on a rejection writes the 429/503
 * problem+json (`instance` = `url` without its query) and returns false.
 * Shared by the Express middleware and servers that run before Express.
 */
export function applyDecision(res: ServerResponse, decision: Decision, url: string, headers: 'always' | 'on-reject' = 'always'): boolean {
  if (decision.allowed) {
    if (headers === 'always' && decision.policies.length > 0) setHeaders(res, rateLimitHeaders(decision));
    return true;
  }
  const problem = toProblem(decisionError(decision), pathOf(url));
  setHeaders(res, problem.headers);
  // Written directly: under a flood of rejected clients this is the hot path,
  // and Express's res.send would hash the body for an ETag on every 429.
  const body = JSON.stringify(problem.body);
  res.statusCode = problem.status;
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
  return false;
}

export function rateLimit(options: RateLimitMiddlewareOptions): RequestHandler {
  const { limiter, policies, scope, cost } = options;
  return async (req, res, next) => {
    const hits = policies(req);
    if (hits.length === 0) return next();
    const checkOptions = scope === undefined && cost === undefined ? undefined : {
      ...(scope === undefined ? {} : { scope: scope(req) }),
      ...(cost === undefined ? {} : { cost: cost(req) }),
    };
    const decision = await limiter.check(hits, checkOptions);
    if (applyDecision(res, decision, req.originalUrl, options.headers)) next();
  };
}
