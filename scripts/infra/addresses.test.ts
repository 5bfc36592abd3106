import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { loadRoutesFile, parseUpstreamAddresses } from '../../apps/gateway/src/domain/routes-file.ts';
import { discoverApps, localAddresses, resolveEnv } from './services.ts';
import { repoRoot } from './settings.ts';

// One source of truth for addresses (issue 25): a port is declared once, in the package.json of the
// app that listens on it; everything else names the app. These checks run on the shipped files.
describe('service addresses', () => {
  const apps = discoverApps();
  const addresses = localAddresses(apps);

  it('when an app names another by {{url:<name>}}, then that app exists (every env of every app and companion resolves)', () => {
    for (const app of apps) for (const a of [app, ...(app.companions ?? [])]) expect(() => resolveEnv(a.env, '/nonexistent-secrets-dir-never-written', addresses)).not.toThrow(/names no app/);
  });

  it('when the gateway starts under npm run up, then every upstream of routes.json has an address and reaches the app of the same name', () => {
    const gateway = apps.find((a) => a.name === 'gateway')!;
    const declared = gateway.env?.GATEWAY_UPSTREAMS ?? '';
    // Each upstream is bound to the app it is named after: a route cannot reach another service by a port typo.
    for (const entry of declared.split(',')) {
      const [name, value] = entry.split('=');
      expect(value).toBe(`{{url:${name}}}`);
      expect(addresses[name!]).toBeDefined();
    }
    const upstreams = parseUpstreamAddresses(resolveEnv({ GATEWAY_UPSTREAMS: declared }, undefined, addresses).GATEWAY_UPSTREAMS!);
    const file = loadRoutesFile(path.join(repoRoot, 'apps/gateway/routes.json'), upstreams);
    for (const route of file.routes) expect(addresses[route.upstream]).toBe(file.upstreams[route.upstream]!.url);
  });

  it('when a chart names another service, then it is by Service DNS name on the Service port, never a container port', () => {
    const charts = fs.readdirSync(path.join(repoRoot, 'charts')).filter((c) => fs.existsSync(path.join(repoRoot, 'charts', c, 'values.yaml')));
    for (const chart of charts) {
      const values = fs.readFileSync(path.join(repoRoot, 'charts', chart, 'values.yaml'), 'utf8');
      expect(values.match(/https?:\/\/[a-z0-9-]+(\.[a-z0-9-]+)*\.svc\.cluster\.local:8\d{3}/g) ?? []).toEqual([]);
    }
  });
});
