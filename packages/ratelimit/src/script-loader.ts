/**
 * Loads the Lua scripts kept as files under `src/lua/<name>-<numKeys>.lua`,
 * inlines `--- @include "<path>"` lines (each include once), and runs them
 * with EVALSHA, falling back to EVAL on NOSCRIPT (after a SCRIPT FLUSH, a
 * restart or a failover to a replica that never saw the script); EVAL also
 * caches the script server-side, so the next call is an EVALSHA again.
 *
 * Scripts are found relative to the package root, so the same path works from
 * `src/` (tests, bulwark-source) and from `dist/` (build output).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Redis } from 'ioredis';

const LUA_DIR = new URL('../src/lua/', import.meta.url);
const INCLUDE = /^--- @include "([^"]+)"\s*$/gm;

/** The subset of an ioredis client (Redis or Cluster) the loader needs. */
export type ScriptClient = Pick<Redis, 'evalsha' | 'eval'>;

export class LuaScript {
  /** File name without `.lua`, e.g. `check-policies-n`. */
  readonly name: string;
  /** Fixed number of keys, or undefined when the name ends in `-n` (keys given per call). */
  readonly numKeys: number | undefined;
  readonly source: string;
  readonly sha: string;

  constructor(name: string, source: string) {
    const match = /-(\d+|n)$/.exec(name);
    if (!match) throw new Error(`Lua script name ${name} must end in -<numKeys> or -n`);
    this.name = name;
    this.numKeys = match[1] === 'n' ? undefined : Number(match[1]);
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /**
   * Runs the script. `keysAndArgs` holds the keys first, then ARGV; passing
   * one array keeps the call to one allocation.
   */
  async run(client: ScriptClient, numKeys: number, keysAndArgs: readonly string[]): Promise<unknown> {
    if (this.numKeys !== undefined && numKeys !== this.numKeys) {
      throw new Error(`Lua script ${this.name} takes ${this.numKeys} keys, got ${numKeys}`);
    }
    try {
      return await client.evalsha(this.sha, numKeys, keysAndArgs as string[]);
    } catch (err) {
      if (!isNoScript(err)) throw err;
      return client.eval(this.source, numKeys, keysAndArgs as string[]);
    }
  }
}

/** True for the NOSCRIPT error Redis returns when the sha is not in its script cache. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

function resolveIncludes(dir: URL, source: string, seen: Set<string>): string {
  return source.replaceAll(INCLUDE, (_line, path: string) => {
    if (seen.has(path)) return '';
    seen.add(path);
    const included = fs.readFileSync(new URL(`${path}.lua`, dir), 'utf8');
    return resolveIncludes(dir, included, seen);
  });
}

const cache = new Map<string, LuaScript>();

/** Loads (once per process) the script `src/lua/<name>.lua` with its includes resolved. */
export function loadScript(name: string, dir: URL = LUA_DIR): LuaScript {
  const cacheKey = `${dir.href}${name}`;
  let script = cache.get(cacheKey);
  if (!script) {
    const raw = fs.readFileSync(new URL(`${name}.lua`, dir), 'utf8');
    script = new LuaScript(name, resolveIncludes(dir, raw, new Set()));
    cache.set(cacheKey, script);
  }
  return script;
}
