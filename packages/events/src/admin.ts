/**
 * Cluster administration behind the package's own interface: declarative
 * topic provisioning (create missing topics, raise partition counts, converge
 * configs) and consumer lag (high watermark minus committed offset). Both are
 * idempotent reads-then-writes, safe to run from every replica at start.
 */
import { ProvisioningError } from './errors.ts';
import { rawAdmin, TOPIC_RESOURCE, type EventsKafka, type RawAdmin } from './kafka.ts';

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';

/** One topic as it should be. */
export interface TopicSpec {
  name: string;
  partitions: number;
  /** Default 1 (the dev/test cluster has one broker); production declares 3. */
  replicationFactor?: number;
  /** `retention.ms`; -1 keeps forever. */
  retentionMs?: number;
  /** `cleanup.policy`: `compact` for latest-state-per-key topics, `delete` for event streams. */
  cleanupPolicy?: CleanupPolicy;
  /** Any other topic-level configs, e.g. `{ 'min.insync.replicas': '2' }`. */
  configs?: Record<string, string>;
}

export interface ProvisionResult {
  created: string[];
  partitionsRaised: { topic: string; from: number; to: number }[];
  configsAltered: { topic: string; keys: string[] }[];
  /** Declared partition counts below the existing ones (Kafka cannot shrink a topic); left as they are. */
  warnings: string[];
}

export interface TopicDescription {
  name: string;
  partitions: number;
  /** Topic-level configs that differ from the broker defaults. */
  configs: Record<string, string>;
}

export interface PartitionLag {
  topic: string;
  partition: number;
  highWatermark: number;
  /** Next offset the group will read; the partition's low watermark when the group never committed. */
  committedOffset: number;
  lag: number;
}

/** An admin connection. `disconnect()` when done. */
export interface TopicAdmin {
  listTopics(): Promise<string[]>;
  describeTopics(names: readonly string[]): Promise<TopicDescription[]>;
  deleteTopics(names: readonly string[]): Promise<void>;
  deleteGroups(groups: readonly string[]): Promise<void>;
  disconnect(): Promise<void>;
}

const raws = new WeakMap<TopicAdmin, RawAdmin>();

function rawOf(admin: TopicAdmin): RawAdmin {
  const raw = raws.get(admin);
  if (!raw) throw new Error('not an admin created by @bulwark/events connectAdmin()');
  return raw;
}

function desiredConfigs(spec: TopicSpec): Record<string, string> {
  const out: Record<string, string> = { ...spec.configs };
  if (spec.retentionMs !== undefined) out['retention.ms'] = String(spec.retentionMs);
  if (spec.cleanupPolicy !== undefined) out['cleanup.policy'] = spec.cleanupPolicy;
  return out;
}

/** Topic-level overrides (not broker defaults) of each topic. */
async function topicOverrides(raw: RawAdmin, names: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const out = new Map<string, Record<string, string>>();
  if (names.length === 0) return out;
  const described = await raw.describeConfigs({ includeSynonyms: false, resources: names.map((name) => ({ type: TOPIC_RESOURCE, name })) });
  for (const resource of described.resources) {
    const configs: Record<string, string> = {};
    for (const entry of resource.configEntries) {
      // configSource 1 = DYNAMIC_TOPIC_CONFIG: set on this topic, not inherited.
      if (!entry.isDefault && entry.configSource === 1) configs[entry.configName] = entry.configValue;
    }
    out.set(resource.resourceName, configs);
  }
  return out;
}

export async function connectAdmin(kafka: EventsKafka): Promise<TopicAdmin> {
  const raw = rawAdmin(kafka);
  await raw.connect();
  const admin: TopicAdmin = {
    listTopics: () => raw.listTopics(),
    async describeTopics(names) {
      if (names.length === 0) return [];
      const [meta, overrides] = await Promise.all([raw.fetchTopicMetadata({ topics: [...names] }), topicOverrides(raw, names)]);
      return meta.topics.map((t) => ({ name: t.name, partitions: t.partitions.length, configs: overrides.get(t.name) ?? {} }));
    },
    async deleteTopics(names) {
      const existing = new Set(await raw.listTopics());
      const topics = names.filter((n) => existing.has(n));
      if (topics.length > 0) await raw.deleteTopics({ topics });
    },
    async deleteGroups(groups) {
      if (groups.length > 0) await raw.deleteGroups([...groups]).catch(() => undefined);
    },
    disconnect: () => raw.disconnect(),
  };
  raws.set(admin, raw);
  return admin;
}

/**
 * Makes the cluster match `list`: creates missing topics, raises partition
 * counts, and sets declared configs (keeping other topic-level overrides,
 * since AlterConfigs replaces the whole set). Running it twice changes
 * nothing the second time.
 */
export async function provisionTopics(admin: TopicAdmin, list: readonly TopicSpec[]): Promise<ProvisionResult> {
  const raw = rawOf(admin);
  const result: ProvisionResult = { created: [], partitionsRaised: [], configsAltered: [], warnings: [] };
  const names = new Set<string>();
  for (const spec of list) {
    if (names.has(spec.name)) throw new ProvisioningError(`topic ${spec.name} is declared twice`);
    if (!Number.isInteger(spec.partitions) || spec.partitions < 1) throw new ProvisioningError(`topic ${spec.name}: partitions must be an integer >= 1`);
    names.add(spec.name);
  }
  try {
    const existing = new Set(await raw.listTopics());
    const missing = list.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      await raw.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.name,
          numPartitions: s.partitions,
          replicationFactor: s.replicationFactor ?? 1,
          configEntries: Object.entries(desiredConfigs(s)).map(([name, value]) => ({ name, value })),
        })),
      });
      // createTopics ignores topics that appeared meanwhile (another replica); they converge below next run.
      result.created.push(...missing.map((s) => s.name));
    }

    const present = list.filter((s) => existing.has(s.name));
    if (present.length === 0) return result;
    const meta = await raw.fetchTopicMetadata({ topics: present.map((s) => s.name) });
    const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const raise: { topic: string; count: number }[] = [];
    for (const spec of present) {
      const current = counts.get(spec.name) ?? 0;
      if (current < spec.partitions) {
        raise.push({ topic: spec.name, count: spec.partitions });
        result.partitionsRaised.push({ topic: spec.name, from: current, to: spec.partitions });
      } else if (current > spec.partitions) {
        result.warnings.push(`topic ${spec.name} has ${current} partitions, more than the declared ${spec.partitions}; Kafka cannot shrink it`);
      }
    }
    if (raise.length > 0) await raw.createPartitions({ validateOnly: false, topicPartitions: raise });

    const overrides = await topicOverrides(raw, present.map((s) => s.name));
    const alter: { name: string; entries: Record<string, string>; keys: string[] }[] = [];
    for (const spec of present) {
      const current = overrides.get(spec.name) ?? {};
      const desired = desiredConfigs(spec);
      const keys = Object.keys(desired).filter((k) => current[k] !== desired[k]);
      if (keys.length > 0) alter.push({ name: spec.name, entries: { ...current, ...desired }, keys });
    }
    if (alter.length > 0) {
      await raw.alterConfigs({
        validateOnly: false,
        resources: alter.map((a) => ({
          type: TOPIC_RESOURCE,
          name: a.name,
          configEntries: Object.entries(a.entries).map(([name, value]) => ({ name, value })),
        })),
      });
      result.configsAltered.push(...alter.map((a) => ({ topic: a.name, keys: a.keys })));
    }
    return result;
  } catch (err) {
    throw new ProvisioningError(`provisioning topics failed: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}

/** Lag of `group` on each partition of `topics`: high watermark − committed offset. */
export async function fetchConsumerLag(admin: TopicAdmin, group: string, topics: readonly string[]): Promise<PartitionLag[]> {
  const raw = rawOf(admin);
  if (topics.length === 0) return [];
  const [committed, watermarks] = await Promise.all([
    raw.fetchOffsets({ groupId: group, topics: [...topics] }),
    Promise.all(topics.map(async (topic) => ({ topic, partitions: await raw.fetchTopicOffsets(topic) }))),
  ]);
  const committedOf = new Map<string, number>();
  for (const t of committed) for (const p of t.partitions) committedOf.set(`${t.topic}:${p.partition}`, Number(p.offset));
  const out: PartitionLag[] = [];
  for (const { topic, partitions } of watermarks) {
    for (const p of partitions) {
      out.push(computeLag(topic, p.partition, Number(p.high), Number(p.low), committedOf.get(`${topic}:${p.partition}`) ?? -1));
    }
  }
  return out.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

/** Pure: a committed offset of -1 (none) counts from the low watermark (what a new group reads from the earliest). */
export function computeLag(topic: string, partition: number, high: number, low: number, committed: number): PartitionLag {
  const from = committed < 0 ? low : Math.max(committed, low);
  return { topic, partition, highWatermark: high, committedOffset: from, lag: Math.max(0, high - from) };
}

/** provisionTopics on an admin connection of its own, closed afterwards: what a service does once at start. */
export async function ensureTopics(kafka: EventsKafka, list: readonly TopicSpec[]): Promise<ProvisionResult> {
  const admin = await connectAdmin(kafka);
  try {
    return await provisionTopics(admin, list);
  } finally {
    await admin.disconnect();
  }
}
