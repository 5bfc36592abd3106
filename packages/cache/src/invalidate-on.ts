/**
 * Invalidation driven by domain events: a handler for the service's
 * @bulwark/events consumer that turns an event (a product changed) into the
 * keys and tags to drop. One instance of the consumer group handles each
 * event; the cache's pub/sub then drops L1 on every instance. Dropping is
 * idempotent, so a redelivered event does no harm.
 */
import { handle, type CloudEvent, type EventDefinition, type EventHandler } from '@bulwark/events';
import type { Cache } from './cache.ts';

/** What an event makes stale. */
export interface InvalidationTargets {
  keys?: readonly string[];
  tags?: readonly string[];
}

/** A consumer handler that invalidates what `targets` names for each event of `definition`. */
export function invalidateOn<TData>(definition: EventDefinition<string, TData>, cache: Cache, targets: (data: TData, event: CloudEvent<TData>) => InvalidationTargets): EventHandler {
  return handle(definition, async (event) => {
    const { keys = [], tags = [] } = targets(event.data, event);
    if (keys.length > 0) await cache.delete(...keys);
    if (tags.length > 0) await cache.invalidateTags(...tags);
  });
}
