/**
 * The collab bench's baseline: a bare Hocuspocus server (no extensions, no
 * persistence, no auth) on PORT, with /readyz so test-support's startService
 * can wait for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@hocuspocus/server';

const server = new Server({
  port: Number(process.env.PORT),
  address: process.env.HOST ?? '127.0.0.1',
  quiet: true,
  async onRequest({ request, response }: { request: IncomingMessage; response: ServerResponse }) {
    if (request.url === '/readyz') {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
      // A rejection without an error stops Hocuspocus from answering the request itself.
      throw null;
    }
  },
});
await server.listen();
process.on('SIGTERM', () => void server.destroy().then(() => process.exit(0)));
