/**
 * Requests node's HTTP parser refuses (headers past the size limit, bytes not
 * allowed in a request line or header, a request that does not arrive in
 * time) never become requests: node emits 'clientError' on the server and,
 * without a listener, writes a bare status line with no body. The kit answers
 * them like any other refusal, as RFC 9457 problem+json, then closes.
 *
 * The parser reports every further chunk of the same connection again, so a
 * connection is answered once. Its write side is closed with the answer, but
 * what the client is still sending (the rest of a 1 MB header) is read and
 * dropped for up to LINGER_MS: closing a socket with unread input resets the
 * connection, and the client could lose the answer before reading it.
 */
import { maxHeaderSize as defaultMaxHeaderSize, STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { PROBLEM_CONTENT_TYPE, toProblem, type AppError } from '@bulwark/errors';
import type { Logger } from 'pino';
import { kitError } from './errors.ts';

const kAnswered = Symbol('bulwark.client-error-answered');
const LINGER_MS = 5_000;

type ClientSocket = Duplex & { [kAnswered]?: true; _httpMessage?: { headersSent?: boolean } | null };

function errorOf(err: NodeJS.ErrnoException, maxHeaderBytes: number): AppError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return kitError('HEADERS_TOO_LARGE', `The request line and headers exceed ${maxHeaderBytes} bytes.`, { extensions: { maxHeaderBytes } });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return kitError('REQUEST_TIMEOUT', 'The request did not arrive in time.');
    default:
      return kitError('MALFORMED_REQUEST', 'The request line or headers could not be parsed (invalid syntax or characters).');
  }
}

/** Answers the server's client errors as problem+json (see the module header). */
export function answerClientErrors(server: Server, log: Logger): void {
  const maxHeaderBytes = (server as { maxHeaderSize?: number }).maxHeaderSize ?? defaultMaxHeaderSize;
  server.on('clientError', (err: NodeJS.ErrnoException, duplex: Duplex) => {
    const socket = duplex as ClientSocket;
    if (socket[kAnswered]) return;
    socket[kAnswered] = true;
    // Gone, or a response of this connection is already on the wire: nothing can be said cleanly.
    if (err.code === 'ECONNRESET' || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const problem = toProblem(errorOf(err, maxHeaderBytes));
    log.info({ code: problem.body.code, parserCode: err.code, status: problem.status }, 'malformed request refused');
    const body = JSON.stringify(problem.body);
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\ncontent-type: ${PROBLEM_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  });
}
