import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The gateway's layers: `domain/` (routes, versions, identity, header hygiene,
 * resilience rules) depends on nothing of the gateway but itself and
 * errors.ts, and on no transport; `upstreams/` (pools, breakers) on `domain/`;
 * `http/` (node:http, undici handlers, sockets) on both. No layer imports one
 * above it, so there is no cycle.
 */
const src = path.dirname(fileURLToPath(import.meta.url));
const LAYERS = ['domain', 'upstreams', 'http'] as const;
/** Modules that are transport: allowed in http/ (and undici's Pool in upstreams/), never in domain/. */
const TRANSPORT = /^(node:(http|https|net|tls|stream)|undici|ws)$/;

/** Value imports (not `import type`) of each non-test file of a layer, as [file, specifier]. */
function importsOf(layer: string): [string, string][] {
  const dir = path.join(src, layer);
  const out: [string, string][] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)) {
      if (!m[1]) out.push([`${layer}/${file}`, m[2]!]);
    }
  }
  return out;
}

function layerOf(fromLayer: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const rel = path.relative(src, path.resolve(src, fromLayer, specifier));
  return rel.includes(path.sep) ? rel.split(path.sep)[0] : undefined;
}

describe('gateway layers', () => {
  it('when a layer imports gateway code, then only from its own layer or one below it', () => {
    const upward: string[] = [];
    for (const [rank, layer] of LAYERS.entries()) {
      for (const [file, specifier] of importsOf(layer)) {
        const target = layerOf(layer, specifier);
        if (target !== undefined && LAYERS.indexOf(target as (typeof LAYERS)[number]) > rank) upward.push(`${file} -> ${specifier}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('when domain code imports, then no transport module (node:http streams, sockets, undici)', () => {
    expect(importsOf('domain').filter(([, specifier]) => TRANSPORT.test(specifier)).map(([file, specifier]) => `${file} -> ${specifier}`)).toEqual([]);
  });
});
