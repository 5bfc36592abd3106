/**
 * Message templates: `{{name}}` placeholders, HTML-escaped by default
 * (`{{{name}}}` inserts raw), per-locale with fallback to the default locale.
 * Every missing variable is reported at once, and nothing is rendered.
 */
import { notificationsError } from './errors.ts';

export type Vars = Record<string, string | number | boolean>;

const PLACEHOLDER = /\{\{\{\s*([A-Za-z0-9_.]+)\s*\}\}\}|\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g;

export function escapeHtml(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export function variablesOf(template: string): string[] {
  const names = new Set<string>();
  for (const m of template.matchAll(PLACEHOLDER)) names.add((m[1] ?? m[2])!);
  return [...names];
}

export function render(template: string, vars: Vars, options: { escape?: boolean } = {}): string {
  const missing = variablesOf(template).filter((name) => !Object.hasOwn(vars, name));
  if (missing.length > 0) {
    throw notificationsError('NOTIFICATIONS_TEMPLATE_VARIABLE_MISSING', `template variables missing: ${missing.join(', ')}`, { missing });
  }
  const escape = options.escape ?? true;
  return template.replace(PLACEHOLDER, (_all, raw: string | undefined, escaped: string | undefined) => {
    const value = String(vars[(raw ?? escaped)!]);
    return raw !== undefined || !escape ? value : escapeHtml(value);
  });
}

export interface Template {
  subject: string;
  body: string;
}

/** Templates by name, then locale. */
export class TemplateRegistry {
  readonly #templates = new Map<string, Map<string, Template>>();
  readonly #defaultLocale: string;

  constructor(defaultLocale = 'en') {
    this.#defaultLocale = defaultLocale;
  }

  has(name: string): boolean {
    return this.#templates.has(name);
  }

  add(name: string, locale: string, template: Template): this {
    let byLocale = this.#templates.get(name);
    if (!byLocale) this.#templates.set(name, (byLocale = new Map()));
    byLocale.set(locale, template);
    return this;
  }

  /** Renders subject and body; `escapeBody: false` for plain-text channels (SMS). */
  render(name: string, locale: string, vars: Vars, options: { escapeBody?: boolean } = {}): Template {
    const byLocale = this.#templates.get(name);
    const template = byLocale?.get(locale) ?? byLocale?.get(locale.split('-')[0]!) ?? byLocale?.get(this.#defaultLocale);
    if (!template) throw notificationsError('NOTIFICATIONS_TEMPLATE_NOT_FOUND', `no template ${name} for locale ${locale}`, { name, locale });
    // Subjects are plain text headers: not HTML-escaped, but still checked for missing variables.
    return { subject: render(template.subject, vars, { escape: false }), body: render(template.body, vars, { escape: options.escapeBody ?? true }) };
  }
}
