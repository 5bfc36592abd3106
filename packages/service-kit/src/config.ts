/**
 * Configuration is a zod schema read once from the environment. This is the
 * only module of the platform that reads `process.env`; everything else gets a
 * typed, validated config object. A bad environment fails fast with one error
 * that names every missing or invalid key (values are never printed: they may
 * be secrets).
 */
import { z } from 'zod';
import { AppError } from '@bulwark/errors';
import './errors.ts';
import { DEFAULT_MAX_DEPTH } from './input-guard.ts';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveMs = z.coerce.number().int().positive();

/** Keys every service understands. Extend it: `baseConfigSchema.extend({ DATABASE_URL: z.url() })`. */
export const baseConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development').describe('Runtime environment.'),
  PORT: port.default(3000).describe('TCP port to listen on; 0 picks a free port.'),
  HOST: z.string().min(1).default('0.0.0.0').describe('Interface to bind.'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level.'),
  OTEL_SERVICE_NAME: z.string().min(1).optional().describe('Service name on traces; defaults to the service name given in code.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional().describe('OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); traces are exported only when set.'),
  SHUTDOWN_TIMEOUT_MS: positiveMs.default(10_000).describe('Longest drain of in-flight requests at shutdown before sockets are destroyed.'),
  SHUTDOWN_DELAY_MS: z.coerce.number().int().min(0).default(0).describe('Time between readiness going false and the listener closing, so load balancers stop routing first.'),
  READINESS_TIMEOUT_MS: positiveMs.default(2_000).describe('Deadline for all dependency checks behind /readyz.'),
  BODY_LIMIT_BYTES: z.coerce.number().int().positive().default(1_048_576).describe('Largest accepted JSON request body.'),
  BODY_MAX_DEPTH: z.coerce.number().int().min(1).max(1_000).default(DEFAULT_MAX_DEPTH).describe('Deepest nesting of arrays/objects accepted in a JSON request body (and query); deeper is 400 JSON_TOO_DEEP.'),
});

export type BaseConfig = z.output<typeof baseConfigSchema>;

/** A comma-separated list (`a, b,c` → ['a', 'b', 'c']; empty items dropped). Chain `.default([…])` for an optional key. */
export const commaList = () => z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** The subset register.ts needs before the application loads. */
export const telemetryConfigSchema = baseConfigSchema.pick({ OTEL_SERVICE_NAME: true, OTEL_EXPORTER_OTLP_ENDPOINT: true });

export interface ConfigIssue {
  key: string;
  message: string;
}

/** Thrown by loadConfig; `issues` names every bad key, the message lists them one per line. */
export class ConfigError extends AppError {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super('CONFIG_INVALID', formatConfigIssues(issues), { status: 500, extensions: { issues } });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** One line per key, sorted, so an operator fixes the environment in one go. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  const lines = [...issues].sort((a, b) => a.key.localeCompare(b.key)).map((i) => `  - ${i.key}: ${i.message}`);
  return `invalid configuration (${issues.length} key${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** Turns zod issues into per-key messages; a key absent from the input reads "required but not set". */
export function toConfigIssues(error: z.ZodError, input: Record<string, unknown>): ConfigIssue[] {
  return error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(root)';
    const top = issue.path[0];
    const missing = typeof top === 'string' && input[top] === undefined && issue.path.length === 1;
    return { key, message: missing ? 'required but not set' : issue.message };
  });
}

/**
 * Validates the environment against `schema` and returns the typed config.
 * Empty strings count as unset (so `FOO=` in a .env file falls back to the
 * default). Throws ConfigError listing every bad or missing key.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Record<string, string | undefined> = process.env): z.output<S> {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(toConfigIssues(result.error, input));
  return result.data;
}
