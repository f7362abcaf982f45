// The retry schedule for restores that fail and containers that crash (`restore --all`,
// `run --restart`): the first retry after `initialMs`, each next one after twice the
// last, never more than `maxMs`; a container that ran `resetAfterMs` without failing
// starts again from `initialMs`. Pure: callers pass the time.
// The policy's shape and default are the container record's (store/restart-policy-schema.ts).
import { DEFAULT_BACKOFF, type BackoffPolicy } from "../store/restart-policy-schema.ts";

export { DEFAULT_BACKOFF, type BackoffPolicy };

export interface BackoffState {
  // Failures since the schedule last started over.
  failures: number;
  // When the current run began (ms), null while it is not running.
  runningSinceMs: number | null;
}

export const FRESH: BackoffState = { failures: 0, runningSinceMs: null };

// The delay before retry number `failures` (1 for the first retry).
export function delayForFailure(policy: BackoffPolicy, failures: number): number {
  if (failures < 1) return 0;
  // 2 ** 40 already exceeds any cap; stop doubling before the number grows unbounded.
  const doubled = policy.initialMs * 2 ** Math.min(failures - 1, 40);
  return Math.min(doubled, policy.maxMs);
}

export function started(state: BackoffState, nowMs: number): BackoffState {
  return { ...state, runningSinceMs: nowMs };
}

// A failure at `nowMs`: the new state and when to try again.
export function failed(policy: BackoffPolicy, state: BackoffState, nowMs: number): { state: BackoffState; retryAtMs: number; delayMs: number } {
  const ranLongEnough = state.runningSinceMs !== null && nowMs - state.runningSinceMs >= policy.resetAfterMs;
  const failures = (ranLongEnough ? 0 : state.failures) + 1;
  const delayMs = delayForFailure(policy, failures);
  return { state: { failures, runningSinceMs: null }, retryAtMs: nowMs + delayMs, delayMs };
}

export interface Clock {
  nowMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface Attempt<T> {
  attempt: number;
  delayMs: number;
  outcome: { ok: true; value: T } | { ok: false; error: unknown };
}

// Runs `attempt` until it succeeds or `maxAttempts` are spent, waiting the schedule's
// delay between attempts. Reports each attempt (for the journal and the user).
export async function retryWithBackoff<T>(run: (attempt: number) => Promise<T>, policy: BackoffPolicy, options: { maxAttempts: number; clock?: Clock; onAttempt?: (a: Attempt<T>) => void }): Promise<T> {
  const clock = options.clock ?? systemClock;
  let state = FRESH;
  let delayMs = 0;
  for (let attempt = 1; ; attempt++) {
    state = started(state, clock.nowMs());
    try {
      const value = await run(attempt);
      options.onAttempt?.({ attempt, delayMs, outcome: { ok: true, value } });
      return value;
    } catch (error) {
      options.onAttempt?.({ attempt, delayMs, outcome: { ok: false, error } });
      if (attempt >= options.maxAttempts) throw error;
      const next = failed(policy, state, clock.nowMs());
      state = next.state;
      delayMs = next.delayMs;
      await clock.sleep(delayMs);
    }
  }
}
