import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from '../infra/index.ts';
import { isOurProcess, waitFor } from '../infra/proc.ts';
import os from 'node:os';
import { discoverApps, localAddresses, resolveEnv, startApp, stopApp } from '../infra/services.ts';
import { settings } from '../infra/settings.ts';

const appsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'apps');

describe('npm run up service launcher', () => {
  it('when apps/ is scanned, then only workspaces with src/main.ts and a declared port are services', () => {
    const apps = discoverApps(appsDir);
    expect(apps.map((a) => [a.name, a.port])).toEqual([['echo', 18999]]);
  });

  it('when an app declares companion processes, then they are discovered with their own port and env, and bad declarations are named', () => {
    const payments = discoverApps().find((a) => a.name === 'payments');
    expect(payments?.companions?.map((c) => [c.name, c.port, path.relative(c.dir, c.main)])).toEqual([['psp-simulator', 8085, 'src/psp/main.ts']]);

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-apps-'));
    try {
      fs.mkdirSync(path.join(dir, 'svc', 'src'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'svc', 'src', 'main.ts'), '');
      const write = (bulwark: unknown): void => fs.writeFileSync(path.join(dir, 'svc', 'package.json'), JSON.stringify({ bulwark }));
      write({ port: 1, processes: [{ name: 'sim', main: 'src/missing.ts', port: 2 }] });
      expect(() => discoverApps(dir)).toThrow(/processes\[0\]: "main" must name an existing file/);
      write({ port: 1, env: { N: 3 } });
      expect(() => discoverApps(dir)).toThrow(/"env" must map names to strings/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when env names a local secret, then one generated value is shared by every process, kept private, and stable', () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bulwark-secrets-')), 'secrets');
    try {
      const a = resolveEnv({ SECRETS: '{{secret:hook}}', PLAIN: 'x' }, dir);
      const b = resolveEnv({ OTHER: 'v1={{secret:hook}}' }, dir);
      expect(a.SECRETS).toMatch(/^[0-9a-f]{64}$/);
      expect(b.OTHER).toBe(`v1=${a.SECRETS}`);
      expect(a.PLAIN).toBe('x');
      expect(fs.statSync(path.join(dir, 'hook')).mode & 0o777).toBe(0o600);
      expect(resolveEnv({ S: '{{secret:hook}}' }, dir).S).toBe(a.SECRETS);
    } finally {
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  });

  it('when env names another app as {{url:<name>}}, then it gets that app\'s declared port, and an unknown name stops the start', () => {
    const addresses = localAddresses(discoverApps());
    expect(addresses).toMatchObject({ orders: 'http://127.0.0.1:8082', 'psp-simulator': 'http://127.0.0.1:8085' });
    expect(resolveEnv({ U: 'x={{url:orders}},y={{url:psp-simulator}}' }, undefined, addresses).U).toBe('x=http://127.0.0.1:8082,y=http://127.0.0.1:8085');
    expect(() => resolveEnv({ U: '{{url:warehouse}}' }, undefined, addresses)).toThrow(/U: \{\{url:warehouse\}\} names no app/);
  });

  it('when env names a variable of the services\' environment as {{env:<NAME>}} (the runtime database URL), then it gets its value, and a missing one stops the start', () => {
    expect(resolveEnv({ DATABASE_URL: '{{env:BULWARK_PG_RUNTIME_URL}}' }, undefined, {}, { BULWARK_PG_RUNTIME_URL: 'postgres://bulwark_app@h/db' }).DATABASE_URL).toBe('postgres://bulwark_app@h/db');
    expect(() => resolveEnv({ DATABASE_URL: '{{env:BULWARK_PG_RUNTIME_URL}}' }, undefined, {}, {})).toThrow(/DATABASE_URL: \{\{env:BULWARK_PG_RUNTIME_URL\}\} names no variable/);
  });

  it('when an app is started twice and stopped, then one process ran, was scraped, and is gone', async () => {
    const [app] = discoverApps(appsDir);
    const first = await startApp(app!, { DATABASE_URL: 'postgres://example' }, {}, 20_000);
    const second = await startApp(app!, {}, {}, 20_000);
    expect(second.pid).toBe(first.pid);
    const body = (await (await fetch(`${first.url}/readyz`)).json()) as Record<string, unknown>;
    expect(body).toEqual({ path: '/readyz', port: '18999', service: 'echo', db: true });
    const target = path.join(settings.prometheus.dir, 'targets', 'echo.json');
    expect(JSON.parse(fs.readFileSync(target, 'utf8'))).toEqual([{ targets: ['127.0.0.1:18999'], labels: { service: 'echo' } }]);
    // Prometheus picks the target up through file_sd without a reload.
    const { BULWARK_PROMETHEUS_URL: prometheus } = await ensureInfra(['prometheus']);
    const discovered = async (): Promise<boolean> => {
      const res = (await (await fetch(`${prometheus}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: Record<string, string> }[] } };
      return res.data.activeTargets.some((t) => t.labels.service === 'echo' && t.labels.instance === '127.0.0.1:18999');
    };
    await waitFor('prometheus to discover the echo target', discovered, 30_000);

    expect(await stopApp(app!)).toBe(true);
    expect(isOurProcess(first.pid, app!.main)).toBe(false);
    expect(fs.existsSync(target)).toBe(false);
    expect(await stopApp(app!)).toBe(false);
  });
});
