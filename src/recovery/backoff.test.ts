import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_BACKOFF, delayForFailure, failed, FRESH, retryWithBackoff, started, type Clock } from "./backoff.ts";

const S = 1000;
const MIN = 60 * S;

// A clock that only moves when slept on, and remembers every sleep.
function fakeClock(start = 1_000_000): Clock & { sleeps: number[]; now: number } {
  const c = {
    now: start,
    sleeps: [] as number[],
    nowMs: () => c.now,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.now += ms;
    },
  };
  return c;
}

test("the schedule: 10 s, doubling, capped at 5 min", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => delayForFailure(DEFAULT_BACKOFF, n)), [10 * S, 20 * S, 40 * S, 80 * S, 160 * S, 300 * S, 300 * S, 300 * S, 300 * S]);
  assert.equal(delayForFailure(DEFAULT_BACKOFF, 0), 0);
});

test("a container that keeps failing quickly backs off further each time", () => {
  let state = FRESH;
  let now = 0;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    state = started(state, now);
    now += 2 * S; // it crashes two seconds after each start
    const r = failed(DEFAULT_BACKOFF, state, now);
    delays.push(r.delayMs);
    assert.equal(r.retryAtMs, now + r.delayMs);
    state = r.state;
    now = r.retryAtMs;
  }
  assert.deepEqual(delays, [10 * S, 20 * S, 40 * S, 80 * S, 160 * S, 300 * S, 300 * S]);
});

test("ten minutes of running resets the schedule; nine minutes fifty-nine does not", () => {
  const after = (ranMs: number) => {
    let state = FRESH;
    for (let i = 0; i < 4; i++) state = failed(DEFAULT_BACKOFF, started(state, 0), 1).state; // four quick failures
    return failed(DEFAULT_BACKOFF, started(state, 0), ranMs).delayMs;
  };
  assert.equal(after(10 * MIN), 10 * S);
  assert.equal(after(10 * MIN - 1), 160 * S);
});

test("custom --backoff-initial and --backoff-max", () => {
  const policy = { initialMs: 1 * S, maxMs: 5 * S, resetAfterMs: 10 * MIN };
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => delayForFailure(policy, n)), [1 * S, 2 * S, 4 * S, 5 * S, 5 * S]);
});

test("retryWithBackoff waits exactly the schedule between attempts, on a fake clock", async () => {
  const clock = fakeClock();
  const seen: number[] = [];
  const value = await retryWithBackoff(
    async (attempt) => {
      seen.push(clock.now);
      if (attempt < 4) throw new Error(`attempt ${attempt} failed`);
      return "restored";
    },
    DEFAULT_BACKOFF,
    { maxAttempts: 10, clock },
  );
  assert.equal(value, "restored");
  assert.deepEqual(clock.sleeps, [10 * S, 20 * S, 40 * S]);
  assert.deepEqual(seen.map((t) => t - seen[0]!), [0, 10 * S, 30 * S, 70 * S]);
});

test("retryWithBackoff gives up after maxAttempts with the last error, reporting each attempt", async () => {
  const clock = fakeClock();
  const attempts: [number, number, boolean][] = [];
  await assert.rejects(
    retryWithBackoff(async (attempt) => Promise.reject(new Error(`no ${attempt}`)), DEFAULT_BACKOFF, { maxAttempts: 3, clock, onAttempt: (a) => attempts.push([a.attempt, a.delayMs, a.outcome.ok]) }),
    /no 3/,
  );
  assert.deepEqual(attempts, [
    [1, 0, false],
    [2, 10 * S, false],
    [3, 20 * S, false],
  ]);
  assert.deepEqual(clock.sleeps, [10 * S, 20 * S], "no sleep after the last attempt");
});
