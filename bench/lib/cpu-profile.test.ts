import { describe, expect, it } from '@jest/globals';
import { groupOf, summariseProfile, type CpuProfile } from './cpu-profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

describe('groupOf', () => {
  it('names a node_modules package, scoped or not', () => {
    expect(groupOf(frame('_resume', 'file:///w/node_modules/undici/lib/dispatcher/client.js'))).toBe('undici');
    expect(groupOf(frame('trace', 'file:///w/node_modules/@opentelemetry/api/build/src/api/trace.js'))).toBe('@opentelemetry/api');
  });

  it('folds node internals and keeps public node modules apart', () => {
    expect(groupOf(frame('writevGeneric', 'node:internal/stream_base_commons'))).toBe('node:internal');
    expect(groupOf(frame('_storeHeader', 'node:_http_outgoing'))).toBe('node:_http_outgoing');
  });

  it('names workspace code by its folder, and native entries by their function', () => {
    expect(groupOf(frame('writeHead', 'file:///w/packages/service-kit/src/kit-response.ts'))).toBe('packages/service-kit');
    expect(groupOf(frame('proxyRequest', 'file:///w/apps/gateway/src/http/proxy-request.ts'))).toBe('apps/gateway');
    expect(groupOf(frame('writev'))).toBe('writev');
    expect(groupOf(frame(''))).toBe('(native)');
  });
});

describe('summariseProfile', () => {
  it('gives shares of the busy time, leaving idle samples out', () => {
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('writev') },
        { id: 3, callFrame: frame('_resume', 'file:///w/node_modules/undici/lib/dispatcher/client.js', 661) },
      ],
      samples: [1, 2, 3, 3, 1, 2, 2],
      timeDeltas: [5000, 100, 100, 100, 5000, 100, 100],
    };
    const s = summariseProfile(profile);
    expect(s.idleMs).toBe(10);
    expect(s.busyMs).toBe(0.5);
    expect(s.groups).toEqual([
      { name: 'writev', share: 0.6 },
      { name: 'undici', share: 0.4 },
    ]);
    expect(s.functions[1]).toEqual({ name: '_resume dispatcher/client.js:662', share: 0.4 });
  });
});
