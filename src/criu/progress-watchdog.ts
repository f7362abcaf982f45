// "No progress" for a long CRIU operation: none of the signs of work (the size of CRIU's
// log, the pages written or restored so far) changed for `timeoutMs`. Pure: the caller
// samples and asks.
export interface ProgressSample {
  atMs: number;
  // Anything that grows while CRIU works: log bytes, page counters, image bytes.
  counters: readonly number[];
}

export interface WatchdogState {
  last: readonly number[] | null;
  lastChangeMs: number | null;
}

export const WATCHDOG_START: WatchdogState = { last: null, lastChangeMs: null };

export function observe(state: WatchdogState, sample: ProgressSample): WatchdogState {
  const changed = state.last === null || sample.counters.length !== state.last.length || sample.counters.some((v, i) => v !== state.last![i]);
  return { last: [...sample.counters], lastChangeMs: changed ? sample.atMs : state.lastChangeMs };
}

// Whether the operation has made no progress for `timeoutMs` as of `nowMs`.
export function stalled(state: WatchdogState, nowMs: number, timeoutMs: number): boolean {
  return state.lastChangeMs !== null && nowMs - state.lastChangeMs >= timeoutMs;
}
