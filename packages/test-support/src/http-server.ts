/** A real HTTP server for a test's stand-ins (upstreams, webhook receivers, targets), on 127.0.0.1 and a port the kernel picks. */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  server: Server;
  /** Drops open (keep-alive) connections and resolves once the server is closed. */
  close(): Promise<void>;
}

export async function startHttpServer(handler: RequestListener): Promise<HttpServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
