/**
 * A stand-in for a platform service using the provider (a child process of
 * provider.test.ts): OpenFeature with BulwarkFlagsProvider against FLAGS_URL,
 * and a tiny HTTP face: /readyz (200 once the provider is ready) and
 * /eval?key=&targetingKey= answering the evaluation details plus the
 * snapshot revision and whether the stream is open.
 */
import { createServer } from 'node:http';
import { OpenFeature } from '@openfeature/server-sdk';
import { BulwarkFlagsProvider } from '@bulwark/openfeature-provider';

const provider = new BulwarkFlagsProvider({
  url: process.env.FLAGS_URL!,
  tenant: process.env.FLAGS_TENANT!,
  heartbeatMs: Number(process.env.FLAGS_HEARTBEAT_MS ?? '1000'),
  reconnect: { baseMs: 50, capMs: 300, jitter: 'full' },
  exposures: false,
  initTimeoutMs: Number(process.env.FLAGS_INIT_TIMEOUT_MS ?? '1000'),
  ...(process.env.SNAPSHOT_FILE ? { snapshotFile: process.env.SNAPSHOT_FILE } : {}),
});
await OpenFeature.setProviderAndWait(provider);
const client = OpenFeature.getClient();

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://probe');
  if (url.pathname === '/readyz') {
    res.writeHead(200).end('ok');
    return;
  }
  const key = url.searchParams.get('key') ?? '';
  void client.getBooleanDetails(key, false, { targetingKey: url.searchParams.get('targetingKey') ?? 'probe' }).then((details) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ value: details.value, variant: details.variant, reason: details.reason, errorCode: details.errorCode, revision: provider.snapshot?.revision, streaming: provider.streaming }));
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  void OpenFeature.close().then(() => process.exit(0));
});
