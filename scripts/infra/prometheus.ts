/**
 * Prometheus under .local/prometheus, scraping whatever local services are up:
 * `npm run up` writes one file_sd target file per service into
 * .local/prometheus/targets/, which Prometheus re-reads without a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.ts';
import { isOurProcess, readPid, startDetached, stopIfOnAnotherPort, stopPid, tcpProbe, waitFor } from './proc.ts';
import type { LocalServer } from './server.ts';
import { settings } from './settings.ts';

const { dir, port } = settings.prometheus;
export const targetsDir = path.join(dir, 'targets');
const pidFile = path.join(dir, 'prometheus.pid');
const logFile = path.join(dir, 'prometheus.log');
const configFile = path.join(dir, 'prometheus.yml');
const url = `http://${settings.host}:${port}`;

const config = `
global:
  scrape_interval: 5s
  evaluation_interval: 5s
scrape_configs:
  - job_name: prometheus
    static_configs: [{ targets: ['${settings.host}:${port}'] }]
  - job_name: bulwark-services
    file_sd_configs:
      - files: ['${targetsDir}/*.json']
        refresh_interval: 5s
`;

async function ready(): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/** Declares (or removes, with port undefined) the scrape target of one local service. */
export function writeScrapeTarget(service: string, servicePort: number | undefined): void {
  fs.mkdirSync(targetsDir, { recursive: true });
  const file = path.join(targetsDir, `${service}.json`);
  if (servicePort === undefined) fs.rmSync(file, { force: true });
  else fs.writeFileSync(file, JSON.stringify([{ targets: [`${settings.host}:${servicePort}`], labels: { service } }]));
}

export const prometheus: LocalServer = {
  name: 'prometheus',
  url,
  logFile,
  clientEnv: () => ({ BULWARK_PROMETHEUS_URL: url }),
  async status() {
    return { healthy: await ready(), ours: isOurProcess(readPid(pidFile), 'prometheus') };
  },
  async up() {
    ensurePrereqs(['prometheus']);
    if (await ready()) return;
    await stopIfOnAnotherPort(pidFile, configFile, [port]);
    if (await tcpProbe(settings.host, port)) throw new Error(`port ${port} is taken by something that is not Prometheus; set BULWARK_PROMETHEUS_PORT`);
    fs.mkdirSync(targetsDir, { recursive: true });
    fs.writeFileSync(configFile, config);
    startDetached(
      'prometheus',
      [`--config.file=${configFile}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=${settings.host}:${port}`, '--storage.tsdb.retention.time=2d', '--web.enable-lifecycle'],
      logFile,
      pidFile,
    );
    await waitFor(`prometheus on :${port}`, ready, 30_000, logFile);
  },
  async down() {
    const pid = readPid(pidFile);
    if (!isOurProcess(pid, 'prometheus')) return;
    await stopPid(pid!);
    fs.rmSync(pidFile, { force: true });
  },
};
