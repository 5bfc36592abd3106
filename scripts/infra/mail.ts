/**
 * The mail sink under .local/mail: maildev (npm) takes every email the
 * platform sends over SMTP on BULWARK_SMTP_PORT and shows it in a web inbox
 * on BULWARK_MAIL_WEB_PORT, whose REST API (GET /api/email) tests read. It
 * never relays: nothing leaves the machine. Mails are kept as files under
 * .local/mail/messages (the newest 1,000), so they survive a restart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isOurProcess, readPid, startDetached, stopIfOnAnotherPort, stopPid, tcpProbe, waitFor } from './proc.ts';
import type { LocalServer } from './server.ts';
import { repoRoot, settings } from './settings.ts';

const { dir, smtpPort, webPort } = settings.mail;
const pidFile = path.join(dir, 'maildev.pid');
const logFile = path.join(dir, 'maildev.log');
const messagesDir = path.join(dir, 'messages');
const url = `http://${settings.host}:${webPort}`;
const bin = path.join(repoRoot, 'node_modules', 'maildev', 'dist', 'bin', 'maildev.js');

async function ready(): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/healthz`, { signal: AbortSignal.timeout(1000) })).ok && (await tcpProbe(settings.host, smtpPort));
  } catch {
    return false;
  }
}

export const mail: LocalServer = {
  name: 'mail',
  url,
  logFile,
  clientEnv: () => ({ BULWARK_SMTP_HOST: settings.host, BULWARK_SMTP_PORT: String(smtpPort), BULWARK_MAIL_URL: url }),
  async status() {
    return { healthy: await ready(), ours: isOurProcess(readPid(pidFile), bin) };
  },
  async up() {
    if (await ready()) return;
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run npm install (maildev is a devDependency)`);
    fs.mkdirSync(messagesDir, { recursive: true });
    await stopIfOnAnotherPort(pidFile, bin, [smtpPort, webPort]);
    for (const p of [smtpPort, webPort]) {
      if (await tcpProbe(settings.host, p)) throw new Error(`port ${p} is taken by something that is not our mail sink; set BULWARK_SMTP_PORT / BULWARK_MAIL_WEB_PORT`);
    }
    startDetached(
      process.execPath,
      [bin, '--ip', settings.host, '--smtp', String(smtpPort), '--web-ip', settings.host, '--web', String(webPort), '--mail-directory', messagesDir, '--max-emails', '1000'],
      logFile,
      pidFile,
    );
    await waitFor(`mail sink on :${smtpPort} (SMTP) and :${webPort} (web)`, ready, 30_000, logFile);
  },
  async down() {
    const pid = readPid(pidFile);
    if (!isOurProcess(pid, bin)) return;
    await stopPid(pid!);
    fs.rmSync(pidFile, { force: true });
  },
};
