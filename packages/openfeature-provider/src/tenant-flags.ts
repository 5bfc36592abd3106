/**
 * Flags of every tenant a service serves: one BulwarkFlagsProvider per
 * tenant, opened the first time that tenant's flag is read and kept current
 * over its stream from then on. A read never waits: until the tenant's first
 * snapshot arrives (or while flags has never been reachable) it answers the
 * caller's default, which is therefore the behaviour without flags.
 */
import { join } from 'node:path';
import type { EvaluationContext } from './evaluation/types.ts';
import { BulwarkFlagsProvider, type BulwarkFlagsProviderOptions } from './provider.ts';

export type TenantFlagsOptions = Omit<BulwarkFlagsProviderOptions, 'tenant' | 'snapshotFile'> & {
  /** Where each tenant's last snapshot is kept across restarts (`<dir>/<tenant>.json`); unset: memory only. */
  snapshotDir?: string;
  /** Called once per tenant whose provider could not start (flags away and no saved snapshot); reads keep answering defaults. */
  onInitError?: (tenant: string, err: unknown) => void;
};

export class TenantFlags {
  private readonly providers = new Map<string, BulwarkFlagsProvider>();
  private readonly options: TenantFlagsOptions;
  private closed = false;

  constructor(options: TenantFlagsOptions) {
    this.options = options;
  }

  /** The provider of `tenant`, started on first use. */
  provider(tenant: string): BulwarkFlagsProvider {
    let provider = this.providers.get(tenant);
    if (!provider) {
      if (this.closed) throw new Error('TenantFlags is closed');
      const { onInitError, snapshotDir, ...options } = this.options;
      const snapshotFile = snapshotDir ? join(snapshotDir, `${encodeURIComponent(tenant)}.json`) : undefined;
      provider = new BulwarkFlagsProvider({ ...options, tenant, ...(snapshotFile ? { snapshotFile } : {}) });
      this.providers.set(tenant, provider);
      provider.initialize().catch((err: unknown) => onInitError?.(tenant, err));
    }
    return provider;
  }

  /** The flag's boolean for `context` in `tenant`, or `defaultValue` when there is no answer (no snapshot yet, no such flag, wrong type). */
  boolean(tenant: string, key: string, defaultValue: boolean, context: EvaluationContext): boolean {
    return this.provider(tenant).resolve(key, defaultValue, context as Parameters<BulwarkFlagsProvider['resolve']>[2], 'boolean').value;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.providers.values()].map((p) => p.onClose()));
    this.providers.clear();
  }
}
