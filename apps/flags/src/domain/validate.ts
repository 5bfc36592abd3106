/**
 * What the schema cannot say about a flag: variant values of its type, every
 * served variant declared, rollout weights summing to 100, unique rule ids,
 * segments that exist. Pure; the use cases turn issues into 422.
 */
import type { FlagInput } from '../http/schemas.ts';

type Serve = { variant: string } | { rollout: { variant: string; weight: number }[] };

const TYPE_OF: Record<FlagInput['type'], (v: unknown) => boolean> = {
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  object: (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
};

export function flagIssues(input: Pick<FlagInput, 'type' | 'variants' | 'environments'>, segments: ReadonlySet<string>): string[] {
  const issues: string[] = [];
  for (const [name, value] of Object.entries(input.variants)) {
    if (!TYPE_OF[input.type](value)) issues.push(`variants.${name}: not a ${input.type}`);
  }
  const known = (variant: string, where: string) => {
    if (!(variant in input.variants)) issues.push(`${where}: unknown variant ${variant}`);
  };
  const checkServe = (serve: Serve, where: string) => {
    if ('variant' in serve) return known(serve.variant, where);
    serve.rollout.forEach((part, i) => known(part.variant, `${where}.rollout.${i}`));
    // Thousandths of a percent are exact integers: no float drift in the sum.
    const total = serve.rollout.reduce((sum, part) => sum + Math.round(part.weight * 1000), 0);
    if (total !== 100_000) issues.push(`${where}.rollout: weights sum to ${total / 1000}, not 100`);
    if (new Set(serve.rollout.map((p) => p.variant)).size !== serve.rollout.length) issues.push(`${where}.rollout: a variant appears twice`);
  };
  for (const [env, config] of Object.entries(input.environments)) {
    known(config.offVariant, `environments.${env}.offVariant`);
    checkServe(config.fallthrough, `environments.${env}.fallthrough`);
    const ids = new Set<string>();
    config.rules.forEach((rule, i) => {
      const where = `environments.${env}.rules.${i}`;
      if (ids.has(rule.id)) issues.push(`${where}.id: ${rule.id} used twice`);
      ids.add(rule.id);
      checkServe(rule.serve, `${where}.serve`);
      for (const clause of rule.clauses) if ('segment' in clause && !segments.has(clause.segment)) issues.push(`${where}: unknown segment ${clause.segment}`);
    });
  }
  return issues;
}

/** The rollout an experiment on this environment splits by: the fallthrough's, else the first rule's. */
export function experimentRollout(config: { rules: { serve: Serve }[]; fallthrough: Serve }): { variant: string; weight: number }[] | undefined {
  for (const serve of [config.fallthrough, ...config.rules.map((r) => r.serve)]) if ('rollout' in serve) return serve.rollout;
  return undefined;
}
