/**
 * Whether each message provider would take a message now (SMTP: a
 * connection that greets), checked every interval and on demand, shown as
 * `notifications_provider_up{provider}`, by GET /v1/providers/health and
 * under `degraded` in /readyz (the last result; a probe opens no SMTP
 * connection). It does not gate readiness: an SMTP outage must not take the
 * webhook API out of service; messages wait and retry meanwhile.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Channel } from '../store/messages-store.ts';
import type { MessageProvider } from './provider.ts';

export interface ProviderStatus {
  name: string;
  channel: Channel;
  up: boolean;
  error: string | null;
  checkedAt: string;
}

export interface ProviderHealth {
  /** Checks every provider now (bounded by the timeout). */
  check(): Promise<ProviderStatus[]>;
  /** The last result of each provider checked so far. */
  latest(): ProviderStatus[];
  start(): void;
  stop(): void;
}

export function createProviderHealth(deps: { providers: readonly MessageProvider[]; registry: Registry; intervalMs: number; timeoutMs: number; log: Logger }): ProviderHealth {
  const gauge = new Gauge({ name: 'notifications_provider_up', help: '1 when the message provider answered its last check (SMTP: connect and greet), 0 when not.', labelNames: ['provider'], registers: [deps.registry] });
  const last = new Map<string, ProviderStatus>();
  let timer: NodeJS.Timeout | undefined;

  async function checkOne(p: MessageProvider): Promise<ProviderStatus> {
    let error: string | null = null;
    try {
      await p.check?.(AbortSignal.timeout(deps.timeoutMs));
    } catch (err) {
      error = (err as Error).message;
    }
    const up = error === null;
    gauge.set({ provider: p.name }, up ? 1 : 0);
    if (last.get(p.name)?.up !== up) (up ? deps.log.info.bind(deps.log) : deps.log.warn.bind(deps.log))({ provider: p.name, error }, up ? 'message provider up' : 'message provider down');
    const status = { name: p.name, channel: p.channel, up, error, checkedAt: new Date().toISOString() };
    last.set(p.name, status);
    return status;
  }

  const check = () => Promise.all(deps.providers.map(checkOne));
  return {
    check,
    latest: () => [...last.values()],
    start() {
      if (timer) return;
      void check();
      timer = setInterval(() => void check(), deps.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
