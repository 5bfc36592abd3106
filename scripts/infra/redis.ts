/**
 * Redis 7 under .local/redis: loopback only, AOF on (everysec), and
 * maxmemory-policy noeviction so a full Redis fails writes loudly instead of
 * silently dropping rate-limit counters or queue entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrereqs } from './prereqs.ts';
import { isOurProcess, readPid, redisCommand, run, stopIfOnAnotherPort, stopPid, tcpProbe, waitFor } from './proc.ts';
import type { LocalServer } from './server.ts';
import { settings } from './settings.ts';

const { dir, port } = settings.redis;
const pidFile = path.join(dir, 'redis.pid');
const logFile = path.join(dir, 'redis.log');
const confFile = path.join(dir, 'redis.conf');

const conf = `
bind ${settings.host}
port ${port}
protected-mode yes
daemonize yes
pidfile ${pidFile}
logfile ${logFile}
dir ${dir}
appendonly yes
appendfsync everysec
maxmemory 512mb
maxmemory-policy noeviction
save ""
# The config path in the process title makes the process recognisably ours (isOurProcess) before a SIGTERM.
proc-title-template "{title} {listen-addr} {server-mode} {config-file}"
`;

const ping = async (): Promise<boolean> => (await redisCommand(settings.host, port, 'PING')) === '+PONG';

export const redis: LocalServer = {
  name: 'redis',
  url: `redis://${settings.host}:${port}`,
  logFile,
  clientEnv: () => ({ BULWARK_REDIS_URL: `redis://${settings.host}:${port}` }),
  async status() {
    return { healthy: await ping(), ours: isOurProcess(readPid(pidFile), confFile) };
  },
  async up() {
    ensurePrereqs(['redis']);
    if (await ping()) return;
    await stopIfOnAnotherPort(pidFile, confFile, [port]);
    if (await tcpProbe(settings.host, port)) throw new Error(`port ${port} is taken by something that is not Redis; set BULWARK_REDIS_PORT`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(confFile, conf);
    run('redis-server', [confFile]);
    await waitFor(`redis on :${port}`, ping, 15_000, logFile);
  },
  async down() {
    const pid = readPid(pidFile);
    if (!isOurProcess(pid, confFile)) return;
    // SIGTERM rather than SHUTDOWN on `port`: it also stops a Redis left on a port that has since moved.
    await stopPid(pid!);
    await waitFor('redis to stop', async () => !isOurProcess(readPid(pidFile), confFile), 15_000);
  },
};
