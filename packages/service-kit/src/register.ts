/**
 * Entry to preload with `node --import @bulwark/service-kit/register main.ts`.
 * ESM imports are only instrumentable if the loader hook is registered before
 * the application's modules load, so this registers
 * @opentelemetry/instrumentation's hook (import-in-the-middle) through
 * `module.register`, limited by a message channel to the modules an
 * instrumentation asked for, then starts the SDK and waits until the loader
 * has acknowledged those modules.
 */
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { loadConfig, telemetryConfigSchema } from './config.ts';
import { startTelemetry } from './telemetry.ts';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, registerOptions);

const config = loadConfig(telemetryConfigSchema);
startTelemetry({ serviceName: config.OTEL_SERVICE_NAME ?? 'unknown_service:node', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });

await waitForAllMessagesAcknowledged();
