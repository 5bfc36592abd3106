/**
 * Moderation rules: pure checks of an article's text that send it to the
 * moderation queue instead of straight to publication. Each flag names the
 * rule that raised it, so the queue (and the author) see why.
 */

export interface ModerationRules {
  blockedWords: readonly string[];
  maxLinks: number;
}

/** The flags an article raises under `rules`; empty when it may publish without a moderator. */
export function moderationFlags(article: { title: string; body: string; tags: readonly string[] }, rules: ModerationRules): string[] {
  const flags: string[] = [];
  const text = `${article.title}\n${article.body}\n${article.tags.join(' ')}`.toLowerCase();
  for (const word of rules.blockedWords) {
    const w = word.toLowerCase();
    if (w && new RegExp(`(^|[^a-z0-9-])${escapeRegExp(w)}([^a-z0-9-]|$)`).test(text)) flags.push(`blocked-word:${w}`);
  }
  const links = article.body.match(/https?:\/\//gi)?.length ?? 0;
  if (links > rules.maxLinks) flags.push(`too-many-links:${links}`);
  const letters = article.title.replace(/[^A-Za-z]/g, '');
  if (letters.length >= 12 && letters === letters.toUpperCase()) flags.push('shouting-title');
  return flags;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
