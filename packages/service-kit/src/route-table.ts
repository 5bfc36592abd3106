/**
 * The set of route templates a service serves, used for what Express cannot
 * tell us cheaply: which template an unmatched request belongs to (405 with
 * `Allow` vs 404) and the bounded `route` label of metrics and spans. Pure.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Label for requests that matched no template: one series, however many URLs are probed. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Label for methods outside the known set, so a client cannot invent label values. */
export const OTHER_METHOD = '_OTHER';

const KNOWN_METHODS: ReadonlySet<string> = new Set([...HTTP_METHODS, 'HEAD', 'OPTIONS']);

/** `GET` → `GET`; `BREW` → `_OTHER`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : OTHER_METHOD;
}

const SEGMENT_PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/** Checks a template is made of literal segments and `:name` parameters only. */
export function assertValidTemplate(template: string): void {
  if (!template.startsWith('/')) throw new Error(`route path must start with "/": ${template}`);
  for (const segment of template.split('/').slice(1)) {
    if (segment.startsWith(':') ? !SEGMENT_PARAM.test(segment) : /[:*?(){}]/.test(segment)) {
      throw new Error(`route path ${template}: segment "${segment}" must be a literal or :name`);
    }
  }
}

/** Names of the `:params` of a template, in order. */
export function templateParams(template: string): string[] {
  return template.split('/').filter((s) => s.startsWith(':')).map((s) => s.slice(1));
}

/** `/orders/:id` → `/orders/{id}` (OpenAPI path syntax). */
export function toOpenApiPath(template: string): string {
  return template.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

interface Entry {
  template: string;
  segments: readonly string[];
  methods: Set<string>;
}

export class RouteTable {
  readonly #entries = new Map<string, Entry>();

  add(method: HttpMethod, template: string): void {
    assertValidTemplate(template);
    let entry = this.#entries.get(template);
    if (!entry) {
      entry = { template, segments: template.split('/').slice(1), methods: new Set() };
      this.#entries.set(template, entry);
    }
    if (entry.methods.has(method)) throw new Error(`route ${method} ${template} is registered twice`);
    entry.methods.add(method);
  }

  /** Every registered template. */
  templates(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * The template a concrete path belongs to, preferring literal segments over
   * parameters (so `/orders/export` beats `/orders/:id`), or undefined.
   */
  match(path: string): { template: string; allow: string[] } | undefined {
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // Express is not strict about a trailing slash
    let best: Entry | undefined;
    let bestScore = -1;
    for (const entry of this.#entries.values()) {
      const score = scoreMatch(entry.segments, parts);
      if (score > bestScore) {
        best = entry;
        bestScore = score;
      }
    }
    if (!best) return undefined;
    return { template: best.template, allow: allowList(best.methods) };
  }
}

function scoreMatch(segments: readonly string[], parts: readonly string[]): number {
  if (segments.length !== parts.length) return -1;
  let literals = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const part = parts[i]!;
    if (segment.startsWith(':')) {
      if (part === '') return -1;
    } else if (segment === part) {
      literals++;
    } else {
      return -1;
    }
  }
  return literals;
}

function allowList(methods: ReadonlySet<string>): string[] {
  const allow = [...methods];
  if (methods.has('GET')) allow.push('HEAD');
  return allow.sort();
}
