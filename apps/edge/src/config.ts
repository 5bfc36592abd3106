/**
 * Every configuration key of the edge cache, with type, default and
 * meaning; read once by main.ts (tests pass their own env object).
 */
import { z } from 'zod';
import { baseConfigSchema, commaList, loadConfig } from '@bulwark/service-kit';

export const edgeConfigSchema = baseConfigSchema.extend({
  ORIGIN_URL: z.url().describe('The origin behind the edge: the gateway (`http://host:port`, no path).'),
  ORIGIN_CONNECTIONS: z.coerce.number().int().positive().default(64).describe('Keep-alive connections to the origin.'),
  ORIGIN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000).describe('Longest wait for the origin\'s response head and between body chunks; past it a stale copy is served where stale-if-error allows, else 504.'),
  EDGE_CACHE_MAX_BYTES: z.coerce.number().int().positive().default(256 * 1024 * 1024).describe('Bound of the memory store (bodies, compressed copies and a per-object overhead); least recently used objects go first.'),
  EDGE_MAX_OBJECT_BYTES: z.coerce.number().int().positive().default(32 * 1024 * 1024).describe('Largest body stored; larger ones (by Content-Length, or found while reading) pass through uncached.'),
  JWKS_URL: z.url().optional().describe("identity's JWKS: the service tokens of the purge and warm API are verified against it. Unset: the API answers 503."),
  JWT_ISSUER: z.string().min(1).optional().describe("Expected `iss` of service tokens: identity's JWT_ISSUER."),
  JWT_AUDIENCE: z.string().min(1).default('bulwark').describe("Expected `aud` of service tokens: identity's JWT_AUDIENCE."),
  PURGE_CLIENTS: commaList().default([]).describe('Service clients allowed to purge and warm; empty allows any service client.'),
  KAFKA_BROKERS: commaList().optional().describe('Kafka bootstrap brokers. Set: purge events (data.surrogateKeys) on EDGE_PURGE_TOPICS drop the objects they tag. Unset: purges by API only.'),
  EDGE_PURGE_TOPICS: commaList().default(['content.events']).describe('Topics whose events carry `data.surrogateKeys` to purge. Every instance reads them in its own consumer group (each has its own memory).'),
  EDGE_PURGE_GROUP_PREFIX: z.string().min(1).default('edge-purge').describe('Prefix of the per-instance consumer group (a random suffix is added).'),
});

export type EdgeConfig = z.output<typeof edgeConfigSchema>;

export function loadEdgeConfig(env: Record<string, string | undefined> = process.env): EdgeConfig {
  return loadConfig(edgeConfigSchema, env);
}
