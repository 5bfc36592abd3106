/**
 * The per-key state machine, pure: what to do with a request given the
 * stored row (read while holding the key's advisory lock), and which state a
 * response leads to.
 *
 *   (none) ──► started ──► completed          (2xx/3xx; replayed)
 *                 │  ├───► failed_final       (4xx except 408/425/429; replayed)
 *                 │  └───► failed_retryable   (5xx, 408/425/429, thrown, commit failed)
 *                 └──(owner crashed: row still `started`, lock free)──► started again
 *   failed_retryable ──► started              (a retry with the same key)
 *
 * An expired row is treated as absent.
 */

export type KeyState = 'started' | 'completed' | 'failed_retryable' | 'failed_final';

export interface StoredKey {
  state: KeyState;
  fingerprint: string;
  expiresAt: Date;
  attempts: number;
}

export type Decision =
  /** Run the handler. `recovered`: the previous owner crashed while `started`. */
  | { kind: 'execute'; fresh: boolean; recovered: boolean; attempt: number }
  | { kind: 'replay'; state: 'completed' | 'failed_final' }
  | { kind: 'mismatch' };

/** Decides for a caller that holds the key's lock (so a `started` row has no live owner). */
export function decide(row: StoredKey | undefined, fingerprint: string, now: Date): Decision {
  if (!row || row.expiresAt.getTime() <= now.getTime()) return { kind: 'execute', fresh: true, recovered: false, attempt: 1 };
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  switch (row.state) {
    case 'completed':
    case 'failed_final':
      return { kind: 'replay', state: row.state };
    case 'started':
      return { kind: 'execute', fresh: false, recovered: true, attempt: row.attempts + 1 };
    case 'failed_retryable':
      return { kind: 'execute', fresh: false, recovered: false, attempt: row.attempts + 1 };
  }
}

/** Client errors that say "try again later" rather than "this request is wrong". */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 425, 429]);

/** The final state a response status leads to. */
export function outcomeOf(status: number): Exclude<KeyState, 'started'> {
  if (status < 400) return 'completed';
  if (status < 500 && !RETRYABLE_4XX.has(status)) return 'failed_final';
  return 'failed_retryable';
}

const TRANSITIONS: Readonly<Record<KeyState | 'none', readonly KeyState[]>> = {
  none: ['started'],
  started: ['completed', 'failed_final', 'failed_retryable', 'started'],
  failed_retryable: ['started'],
  completed: [],
  failed_final: [],
};

export function canTransition(from: KeyState | 'none', to: KeyState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Whether a stored response of this state is replayed to a retry. */
export function isReplayable(state: KeyState): state is 'completed' | 'failed_final' {
  return state === 'completed' || state === 'failed_final';
}
