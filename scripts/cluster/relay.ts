/**
 * The host's data services as the real node's Pods see them: a TCP relay from the node's address
 * (10.250.0.1, on `lo`) to the same port on 127.0.0.1, where `npm run infra` binds PostgreSQL,
 * Redis, Kafka and the SMTP sink. Endpoints may not point at loopback, and the host's servers
 * listen only there (and are shared: they are not restarted to listen elsewhere), so the data
 * Services of the real-node profile point at this relay (scripts/cluster/platform.ts).
 *
 * `node scripts/cluster/relay.ts <listen-host> <port>...`; one socket pair per connection,
 * nothing buffered beyond what the streams hold.
 */
import net from 'node:net';

const [host, ...ports] = process.argv.slice(2);
if (!host || ports.length === 0) {
  console.error('usage: relay.ts <listen-host> <port>...');
  process.exit(2);
}

const servers = ports.map(Number).map((port) => {
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: '127.0.0.1', port });
    inbound.pipe(outbound).pipe(inbound);
    const close = (): void => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('error', close);
    outbound.on('error', close);
    inbound.on('close', close);
    outbound.on('close', close);
  });
  server.listen(port, host, () => console.log(`relay ${host}:${port} -> 127.0.0.1:${port}`));
  server.on('error', (err) => {
    console.error(`relay ${host}:${port}: ${err.message}`);
    process.exit(1);
  });
  return server;
});

process.on('SIGTERM', () => {
  for (const server of servers) server.close();
  process.exit(0);
});
