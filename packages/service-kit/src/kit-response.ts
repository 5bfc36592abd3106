/**
 * The kit's node:http response class. For requests served by raw handlers
 * the kit does not `setHeader` its own fields (x-request-id, traceparent):
 * it keeps them, and whatever the handler adds, in `pendingHeaders`, a flat
 * [name, value, …] list that goes out with the response head however the
 * head is written (writeHead, or implicitly by write/end). When nothing was
 * set through the progressive API, head and pending fields are handed to
 * node as one flat array: no per-field `setHeader` (lower-casing, a second
 * validation, the headers object) and none of writeHead's merge of an object
 * into it. That was ~10 µs of a proxied request in the gateway's profile.
 *
 * A field set explicitly (setHeader before the head, or an argument of
 * writeHead) wins over a pending field of the same name, as a later
 * `setHeader` would have. Express swaps the prototype of responses it
 * handles, so the kit applies pending fields with `setHeader` before it
 * hands a request to Express (`applyPendingHeaders`).
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

type HeadFields = OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined;

/** True if `fields` names `name` (lower-case) in any letter case. */
function names(fields: HeadFields, name: string): boolean {
  if (fields === undefined) return false;
  if (Array.isArray(fields)) {
    // Lower-casing is the slow part: only for a name of the same length whose
    // first character matches regardless of case (`| 0x20` folds A–Z to a–z).
    const first = name.charCodeAt(0);
    for (let i = 0; i < fields.length; i += 2) {
      const n = fields[i] as string;
      if (n === name || (n.length === name.length && (n.charCodeAt(0) | 0x20) === first && n.toLowerCase() === name)) return true;
    }
    return false;
  }
  if (Object.hasOwn(fields, name)) return true;
  for (const n in fields) if (n.length === name.length && n.toLowerCase() === name) return true;
  return false;
}

export class KitServerResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  /** Fields held back until the head is written (lower-case names). Undefined: none. */
  pendingHeaders: string[] | undefined = undefined;

  override writeHead(statusCode: number, reasonOrHeaders?: string | HeadFields, maybeHeaders?: HeadFields): this {
    const pending = this.pendingHeaders;
    if (pending === undefined || pending.length === 0 || this.headersSent) {
      return typeof reasonOrHeaders === 'string' ? super.writeHead(statusCode, reasonOrHeaders, maybeHeaders) : super.writeHead(statusCode, reasonOrHeaders);
    }
    this.pendingHeaders = undefined;
    const reason = typeof reasonOrHeaders === 'string' ? reasonOrHeaders : undefined;
    const fields = typeof reasonOrHeaders === 'string' ? maybeHeaders : reasonOrHeaders;
    if (this.getHeaderNames().length > 0 || (fields !== undefined && Array.isArray(fields) && fields.length > 0 && Array.isArray(fields[0]))) {
      // The progressive API is in use (or an array of pairs): merge the slow way.
      for (let i = 0; i < pending.length; i += 2) {
        const name = pending[i]!;
        if (!this.hasHeader(name) && !names(fields, name)) this.setHeader(name, pending[i + 1]!);
      }
      return reason === undefined ? super.writeHead(statusCode, fields) : super.writeHead(statusCode, reason, fields);
    }
    const head: OutgoingHttpHeader[] = [];
    for (let i = 0; i < pending.length; i += 2) if (!names(fields, pending[i]!)) head.push(pending[i]!, pending[i + 1]!);
    if (Array.isArray(fields)) {
      for (let i = 0; i < fields.length; i++) head.push(fields[i]!);
    } else if (fields !== undefined) {
      for (const name in fields) {
        const value = fields[name];
        if (value !== undefined) head.push(name, value as OutgoingHttpHeader);
      }
    }
    return reason === undefined ? super.writeHead(statusCode, head) : super.writeHead(statusCode, reason, head);
  }
}

/** Moves a response's pending fields onto it with setHeader (explicit fields win); for code that is about to use the progressive API or Express. */
export function applyPendingHeaders(res: ServerResponse): void {
  const pending = (res as Partial<KitServerResponse>).pendingHeaders;
  if (pending === undefined) return;
  (res as KitServerResponse).pendingHeaders = undefined;
  if (res.headersSent) return;
  for (let i = 0; i < pending.length; i += 2) if (!res.hasHeader(pending[i]!)) res.setHeader(pending[i]!, pending[i + 1]!);
}
