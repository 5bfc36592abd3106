/** One JSON HTTP call, answered as status, headers and parsed body. */

/** The media type of an RFC 9457 problem answer, for tests to match `content-type` against. */
export const PROBLEM = 'application/problem+json';

export interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The answer as sent. */
  text: string;
}

/**
 * Sends `body` as JSON (a string is sent as it is, so tests can send
 * malformed JSON) and parses a non-empty answer as JSON.
 */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: parseBody(text, res.headers.get('content-type') ?? ''), text };
}

/** JSON (any `+json` type too) is parsed and must parse; another answer is parsed when it happens to be JSON, else undefined. */
function parseBody(text: string, contentType: string): unknown {
  if (!text) return undefined;
  if (contentType.includes('json')) return JSON.parse(text);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
