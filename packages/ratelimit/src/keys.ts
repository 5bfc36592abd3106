/**
 * Redis key layout. Every key of one check is `<prefix>:{<scope>}:<policy>:<subject>`:
 * the scope is the Redis Cluster hash tag, so all keys of a multi-policy check
 * live in one slot and one Lua call can touch them all. The consequence: a
 * counter is per (scope, policy, subject), see README "Key design".
 */

/**
 * Escapes the characters that would end or split the hash tag. An empty scope
 * becomes `%` (never produced by escaping), since `{}` would make Redis hash
 * the whole key and scatter the keys of one check across slots.
 */
export function escapeScope(scope: string): string {
  if (scope === '') return '%';
  return /[{}%]/.test(scope) ? scope.replaceAll('%', '%25').replaceAll('{', '%7B').replaceAll('}', '%7D') : scope;
}

/** The key prefix up to and including the hash tag, e.g. `rl:{tenant:acme}:`. */
export function scopePrefix(prefix: string, scope: string): string {
  return `${prefix}:{${escapeScope(scope)}}:`;
}

/** The state key of one policy for one subject. */
export function stateKey(prefix: string, scope: string, policy: string, subject: string): string {
  return `${scopePrefix(prefix, scope)}${policy}:${subject}`;
}

/** Default scope of a check: the first hit, i.e. the request's primary identity. */
export function defaultScope(policy: string, subject: string): string {
  return `${policy}:${subject}`;
}
