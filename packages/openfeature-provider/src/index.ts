/**
 * @bulwark/openfeature-provider: the OpenFeature provider of the platform's
 * flags (local evaluation from a streamed snapshot) and, re-exported, the
 * pure evaluation it shares with apps/flags.
 */
export { BulwarkFlagsProvider, type BulwarkFlagsProviderOptions, type Exposure } from './provider.ts';
export * from './evaluation/index.ts';
export { readSse, type SseEvent } from './sse.ts';
export { TenantFlags, type TenantFlagsOptions } from './tenant-flags.ts';
