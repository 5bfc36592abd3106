import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInfra } from '../infra/index.ts';
import { isOurProcess, waitFor } from '../infra/proc.ts';
import { discoverApps, startApp, stopApp } from '../infra/services.ts';
import { settings } from '../infra/settings.ts';

const appsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'apps');

describe('npm run up service launcher', () => {
  it('when apps/ is scanned, then only workspaces with src/main.ts and a declared port are services', () => {
    const apps = discoverApps(appsDir);
    expect(apps.map((a) => [a.name, a.port])).toEqual([['echo', 58999]]);
  });

  it('when an app is started twice and stopped, then one process ran, was scraped, and is gone', async () => {
    const [app] = discoverApps(appsDir);
    const first = await startApp(app!, { DATABASE_URL: 'postgres://example' }, 20_000);
    const second = await startApp(app!, {}, 20_000);
    expect(second.pid).toBe(first.pid);
    const body = (await (await fetch(`${first.url}/readyz`)).json()) as Record<string, unknown>;
    expect(body).toEqual({ path: '/readyz', port: '58999', service: 'echo', db: true });
    const target = path.join(settings.prometheus.dir, 'targets', 'echo.json');
    expect(JSON.parse(fs.readFileSync(target, 'utf8'))).toEqual([{ targets: ['127.0.0.1:58999'], labels: { service: 'echo' } }]);
    // Prometheus picks the target up through file_sd without a reload.
    const { BULWARK_PROMETHEUS_URL: prometheus } = await ensureInfra(['prometheus']);
    const discovered = async (): Promise<boolean> => {
      const res = (await (await fetch(`${prometheus}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: { labels: Record<string, string> }[] } };
      return res.data.activeTargets.some((t) => t.labels.service === 'echo' && t.labels.instance === '127.0.0.1:58999');
    };
    await waitFor('prometheus to discover the echo target', discovered, 30_000);

    expect(await stopApp(app!)).toBe(true);
    expect(isOurProcess(first.pid, app!.main)).toBe(false);
    expect(fs.existsSync(target)).toBe(false);
    expect(await stopApp(app!)).toBe(false);
  });
});
