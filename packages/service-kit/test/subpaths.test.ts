import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/loaded-modules.ts', import.meta.url));
const SUBPATHS = ['logging', 'config', 'lifecycle', 'metrics', 'service-auth', 'backoff', 'service-client'].map((s) => `@bulwark/service-kit/${s}`);

/** Every module file resolved while a fresh process imports `specifiers`. */
function modulesLoadedBy(specifiers: readonly string[]): string[] {
  const out = execFileSync(process.execPath, ['--conditions=bulwark-source', fixture, ...specifiers], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  return (JSON.parse(out) as { resolved: string[] }).resolved;
}

const fromPackage = (name: string) => (url: string) => url.includes(`/node_modules/${name}/`);

describe('service-kit subpaths for processes without HTTP', () => {
  it('when the root entry is imported, then the hook sees express load (the check can see it)', () => {
    expect(modulesLoadedBy(['@bulwark/service-kit']).some(fromPackage('express'))).toBe(true);
  });

  it('when logging, config, lifecycle, metrics, service-auth, backoff and service-client are imported, then neither express nor OpenTelemetry loads', () => {
    const loaded = modulesLoadedBy(SUBPATHS);
    expect(loaded.some((u) => u.endsWith('/service-kit/src/lifecycle.ts'))).toBe(true);
    expect(loaded.filter(fromPackage('express'))).toEqual([]);
    expect(loaded.filter(fromPackage('@opentelemetry/sdk-node'))).toEqual([]);
  });
});
