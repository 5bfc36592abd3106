/**
 * Registry of error codes. Each package registers its codes once, at import,
 * from its own `errors.ts`; a code may never be registered twice, so a code
 * always means one thing. `listErrorCodes()` feeds the docs and OpenAPI.
 */

export interface ErrorCodeInfo {
  code: string;
  status: number;
  title: string;
  /** One sentence on when it happens and what the caller should do. */
  description: string;
}

const registry = new Map<string, ErrorCodeInfo>();

/** Registers codes; throws if a code is already taken by a different definition. */
export function registerErrorCodes(codes: readonly ErrorCodeInfo[]): void {
  for (const info of codes) {
    const existing = registry.get(info.code);
    if (existing && (existing.status !== info.status || existing.title !== info.title)) {
      throw new Error(`error code ${info.code} is already registered with another meaning`);
    }
    registry.set(info.code, info);
  }
}

export function getErrorCode(code: string): ErrorCodeInfo | undefined {
  return registry.get(code);
}

export function listErrorCodes(): ErrorCodeInfo[] {
  return [...registry.values()].sort((a, b) => a.code.localeCompare(b.code));
}
