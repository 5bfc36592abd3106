/** Loggers for components under test: one that drops every line, one that keeps them for assertions. */
import { silentLogger, type Logger } from '@bulwark/service-kit/logging';

/** Drops every line (the service kit's silentLogger). */
export const silent: Logger = silentLogger;

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** Keeps every line it is given, in order; `withMsg` filters by message. */
export function captureLog(): Logger & { entries: LogEntry[]; withMsg(msg: string): LogEntry[] } {
  const entries: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (obj: object, msg?: string) => void entries.push({ level, obj: obj as Record<string, unknown>, msg });
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), withMsg: (msg) => entries.filter((e) => e.msg === msg) };
}
