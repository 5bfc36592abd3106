/**
 * Access policy, pure: a service (identity client id) may read a secret when
 * one of its tenant's patterns for that client matches the secret's name. A
 * pattern is an exact name, or a prefix ending in `/*` (`payments/*` matches
 * `payments/psp-key` and `payments/a/b`, not `payments`), or `*` (everything).
 */

export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}(\/[a-z0-9][a-z0-9._-]{0,62}){0,7}$/;
export const POLICY_PATTERN = /^(\*|[a-z0-9][a-z0-9._-]{0,62}(\/[a-z0-9][a-z0-9._-]{0,62}){0,7}(\/\*)?)$/;

export function patternMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('/*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

export function mayRead(patterns: readonly string[], name: string): boolean {
  return patterns.some((p) => patternMatches(p, name));
}
