/**
 * The shape of a SQL text: what stays the same when only its data changes.
 * Literals (strings, dollar-quoted strings, numbers) and parameters become
 * `?`, lists of them (`IN (…)`, `VALUES (…), (…)`, `ARRAY[…]`) fold to one
 * item, comments go and whitespace collapses. Two statements with the same
 * shape are "the same query run again" for N+1 detection, and a shape can be
 * logged where the text or its values could carry personal data.
 */

// One pass over the text: each alternative is a token kind; anything else is kept as is.
const TOKEN =
  /(--[^\n]*)|(\/\*[\s\S]*?\*\/)|([EeBbXxUu]&?'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*')|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?\$\5\$)|("(?:[^"]|"")*")|(\$\d+)|((?<![A-Za-z0-9_$."])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_]))|(\s+)/g;

/** A parenthesised or bracketed list of placeholders, e.g. `(?, ?, ?)` or `ARRAY[?, ?]`. */
const LIST = /([([])\s*\?(?:\s*,\s*\?)*\s*([)\]])/g;
/** Repeated rows of a VALUES list once each row is `(?+)`. */
const ROWS = /\(\?\+\)(?:\s*,\s*\(\?\+\))+/g;

/** Folds every literal of `text` to `?` (comments go, whitespace collapses); lists stay as they are. */
export function foldLiterals(text: string): string {
  return text
    .replace(TOKEN, (match, line, block, str, dollar, _tag, quoted, param, num, space) => {
      if (line !== undefined || block !== undefined) return ' ';
      if (str !== undefined || dollar !== undefined || param !== undefined || num !== undefined) return '?';
      if (quoted !== undefined) return quoted as string;
      if (space !== undefined) return ' ';
      return match;
    })
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** The shape of `text` (see the module header). Pure; callers cache it per text. */
export function sqlShape(text: string): string {
  return foldLiterals(text)
    .replace(LIST, (_m, open: string, close: string) => `${open}?+${close}`)
    .replace(ROWS, '(?+)…');
}

const MAX_CACHED = 2_000;

/**
 * sqlShape with a bounded cache: services send a few hundred distinct texts,
 * each many times. Texts built with inlined data (which would fill the cache)
 * only cost a clear when it is full.
 */
export function createShapeCache(limit = MAX_CACHED): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    let shape = cache.get(text);
    if (shape === undefined) {
      shape = sqlShape(text);
      if (cache.size >= limit) cache.clear();
      cache.set(text, shape);
    }
    return shape;
  };
}
