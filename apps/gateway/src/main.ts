/**
 * Gateway process: config and routes file (a bad one exits 1 naming every
 * problem), then the kit's lifecycle: SIGTERM drains in-flight requests and
 * closes Redis and the upstream pools.
 * Run: node --conditions=bulwark-source src/main.ts
 */
import { runService } from '@bulwark/service-kit';
import { createGateway, type Gateway } from './app.ts';
import { loadGatewayConfig } from './config.ts';

let gateway: Gateway;
try {
  gateway = createGateway({ config: loadGatewayConfig() });
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
await runService(gateway);
