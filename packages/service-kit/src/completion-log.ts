/**
 * The `request completed` line, written straight to the logger's stream.
 * Every request logs it, and pino's generic serialisation (a walk over the
 * object, per-value type checks, the time and bindings) was the largest
 * single per-request cost in the gateway's profile (~5% of its CPU). The
 * fields are fixed and their values known to be safe (ids are sanitised or
 * generated hex, the method is a label, numbers are numbers), so only the
 * path and route need JSON escaping. The line is the same JSON pino writes
 * (level through the logger's formatter, time, bindings, fields, msg); a
 * logger with features this writer does not reproduce (mixin, hooks, message
 * prefix, nested key, multistream metadata) falls back to pino.
 */
import { pino, type Logger } from 'pino';

export interface CompletionFields {
  reqId: string;
  traceId: string;
  spanId: string;
  method: string;
  route: string;
  path: string;
  status: number;
  durationMs: number;
}

export type CompletionLog = (level: 'info' | 'debug', fields: CompletionFields) => void;

const MESSAGE = 'request completed';

/** Characters JSON.stringify would escape (quote, backslash, controls, surrogates); paths rarely have any. */
// eslint-disable-next-line no-control-regex -- the control characters are what the test is for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A path as a JSON string: the common plain path without JSON.stringify's pass. */
export function jsonPath(path: string): string {
  return NEEDS_ESCAPE.test(path) ? JSON.stringify(path) : `"${path}"`;
}

/**
 * A duration in milliseconds, rounded to the microsecond, as JSON number text
 * (the same value JSON would give `Math.round(ms * 1000) / 1000`). Built from
 * integers: a double's shortest decimal form was the costliest part of the line.
 */
export function jsonMillis(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us < 2_147_483_648)) return JSON.stringify(us / 1000); // negative, NaN or over ~35 minutes: the general form
  const whole = (us / 1000) | 0;
  let frac = us - whole * 1000;
  if (frac === 0) return `${whole}`;
  let digits = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    digits--;
  }
  return `${whole}.${digits === 3 ? (frac < 10 ? '00' : frac < 100 ? '0' : '') : digits === 2 && frac < 10 ? '0' : ''}${frac}`;
}

type PinoInternals = Record<symbol, unknown>;

export function completionLog(log: Logger): CompletionLog {
  const fallback: CompletionLog = (level, fields) => log[level](fields, MESSAGE);
  const internals = log as unknown as PinoInternals;
  const s = pino.symbols as typeof pino.symbols & { readonly msgPrefixSym?: symbol };
  const stream = internals[s.streamSym] as { write(line: string): void; [k: symbol]: unknown } | undefined;
  const hooks = internals[s.hooksSym] as { logMethod?: unknown } | undefined;
  const formatters = internals[s.formattersSym] as { level?: (label: string, n: number) => object } | undefined;
  const time = internals[s.timeSym] as (() => string) | undefined;
  if (
    !stream ||
    typeof stream.write !== 'function' ||
    stream[s.needsMetadataGsym] ||
    internals[s.mixinSym] ||
    hooks?.logMethod ||
    (s.msgPrefixSym !== undefined && internals[s.msgPrefixSym]) ||
    internals[s.nestedKeySym] ||
    internals[s.messageKeySym] !== 'msg' ||
    typeof time !== 'function' ||
    typeof formatters?.level !== 'function'
  ) {
    return fallback;
  }
  const levelFormatter = formatters.level;
  const prefix = (label: 'info' | 'debug'): string => JSON.stringify(levelFormatter(label, log.levels.values[label]!)).slice(0, -1);
  const prefixes = { info: prefix('info'), debug: prefix('debug') };
  const routeJson = new Map<string, string>(); // route templates are a bounded set
  // pino's default epoch time: the same `,"time":<ms>` text, rebuilt only when the millisecond changes.
  const epoch = time === pino.stdTimeFunctions.epochTime;
  let lastMs = -1;
  let lastTime = '';
  const timeField = (): string => {
    if (!epoch) return time.call(log);
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastTime = `,"time":${now}`;
    }
    return lastTime;
  };
  return (level, f) => {
    let route = routeJson.get(f.route);
    if (route === undefined) {
      route = JSON.stringify(f.route);
      if (routeJson.size < 10_000) routeJson.set(f.route, route);
    }
    // Read per line: a child's bindings and the time function are fixed, the stream could be swapped.
    const bindings = internals[s.chindingsSym] as string;
    const out = internals[s.streamSym] as { write(line: string): void };
    out.write(
      `${prefixes[level]}${timeField()}${bindings},"reqId":"${f.reqId}","traceId":"${f.traceId}","spanId":"${f.spanId}","method":"${f.method}","route":${route},"path":${jsonPath(f.path)},"status":${f.status},"durationMs":${jsonMillis(f.durationMs)},"msg":"${MESSAGE}"}\n`,
    );
  };
}
