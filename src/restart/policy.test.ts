import assert from "node:assert/strict";
import { test } from "node:test";
import { CkptError } from "../errors.ts";
import { DEFAULT_BACKOFF } from "../recovery/backoff.ts";
import { decideAfterFailedStart, decideRestart, formatRestartPolicy, freshRestartState, parseRestartPolicy, restartView, type RestartDecision, type RestartState } from "./policy.ts";

const S = 1000;
const MIN = 60 * S;
const onFailure = parseRestartPolicy("on-failure", DEFAULT_BACKOFF);
const always = parseRestartPolicy("always", DEFAULT_BACKOFF);
const crash = (nowMs: number, exitCode: number | null = 1) => ({ exitCode, heldBy: null, checkpointed: false, nowMs });

function restarting(d: RestartDecision): Extract<RestartDecision, { restart: true }> {
  assert.ok(d.restart, `expected a restart, got: ${d.restart ? "" : d.reason}`);
  return d;
}

test("policies parse in podman's spelling; anything else is a usage error that names the choices", () => {
  assert.deepEqual([onFailure.policy, onFailure.maxRetries], ["on-failure", null]);
  assert.deepEqual(parseRestartPolicy("on-failure:5", DEFAULT_BACKOFF).maxRetries, 5);
  assert.deepEqual(parseRestartPolicy("always:2", DEFAULT_BACKOFF).maxRetries, 2);
  assert.equal(parseRestartPolicy(" no ", DEFAULT_BACKOFF).policy, "no");
  assert.equal(formatRestartPolicy(parseRestartPolicy("on-failure:5", DEFAULT_BACKOFF)), "on-failure:5");
  for (const bad of ["", "yes", "on-failure:", "on-failure:0", "on-failure:-1", "no:3", "unless-stopped", "always:x"]) {
    assert.throws(() => parseRestartPolicy(bad, DEFAULT_BACKOFF), (e: unknown) => e instanceof CkptError && e.exitCode === 2 && /no, on-failure|at least 1|never restart/.test(`${e.message} ${e.hint}`), bad);
  }
});

test("a crash under on-failure restarts after 10 s, then 20 s, 40 s ... capped at 5 min (fake clock)", () => {
  let state = freshRestartState(0);
  let now = 0;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    now += 3 * S; // it crashes three seconds after each start
    const d = restarting(decideRestart(onFailure, state, crash(now)));
    assert.equal(d.retryAtMs, now + d.delayMs);
    assert.equal(d.state.nextRetryAtMs, d.retryAtMs);
    assert.equal(d.state.failures, i + 1);
    delays.push(d.delayMs);
    now = d.retryAtMs;
    state = { ...d.state, runningSinceMs: now, nextRetryAtMs: null };
  }
  assert.deepEqual(delays, [10 * S, 20 * S, 40 * S, 80 * S, 160 * S, 300 * S, 300 * S, 300 * S]);
});

test("ten minutes of running starts the schedule over; nine do not", () => {
  const afterFourFailures: RestartState = { ...freshRestartState(0), failures: 4, runningSinceMs: 1_000_000 };
  assert.equal(restarting(decideRestart(onFailure, afterFourFailures, crash(1_000_000 + 10 * MIN))).delayMs, 10 * S);
  assert.equal(restarting(decideRestart(onFailure, afterFourFailures, crash(1_000_000 + 9 * MIN))).delayMs, 160 * S);
});

test("exit 0: on-failure leaves it down, always restarts it", () => {
  const d = decideRestart(onFailure, freshRestartState(0), crash(5 * S, 0));
  assert.ok(!d.restart);
  assert.match(d.reason, /exited 0/);
  assert.equal(d.state.lastExitCode, 0);
  assert.equal(restarting(decideRestart(always, freshRestartState(0), crash(5 * S, 0))).delayMs, 10 * S);
});

test("a signal (128+N) or a missing exit code counts as a failure", () => {
  assert.equal(restarting(decideRestart(onFailure, freshRestartState(0), crash(S, 137))).state.lastExitCode, 137);
  assert.equal(restarting(decideRestart(onFailure, freshRestartState(0), crash(S, null))).state.lastExitCode, null);
});

test("what ckpt ended on purpose, or checkpointed, is never restarted, whatever the policy", () => {
  for (const policy of [onFailure, always]) {
    const held = decideRestart(policy, freshRestartState(0), { exitCode: 137, heldBy: "stopped", checkpointed: false, nowMs: S });
    assert.ok(!held.restart);
    assert.match(held.reason, /on purpose \(stopped\)/);
    const dumped = decideRestart(policy, freshRestartState(0), { exitCode: 137, heldBy: null, checkpointed: true, nowMs: S });
    assert.ok(!dumped.restart);
    assert.match(dumped.reason, /checkpointed/);
    assert.equal(dumped.state.nextRetryAtMs, null);
  }
  const no = decideRestart(parseRestartPolicy("no", DEFAULT_BACKOFF), freshRestartState(0), crash(S));
  assert.ok(!no.restart);
});

test("on-failure:2 restarts twice in a row, then gives up and says why", () => {
  const policy = parseRestartPolicy("on-failure:2", { initialMs: S, maxMs: 60 * S, resetAfterMs: 10 * MIN });
  let state = freshRestartState(0);
  const outcomes: (number | string)[] = [];
  for (let now = 100; outcomes.length < 3; now += 10 * S) {
    const d = decideRestart(policy, state, crash(now));
    outcomes.push(d.restart ? d.delayMs : d.reason);
    state = { ...d.state, runningSinceMs: now + 5 * S };
  }
  assert.deepEqual(outcomes.slice(0, 2), [S, 2 * S]);
  assert.match(String(outcomes[2]), /failed 3 times in a row and on-failure:2 allows 2 restarts/);
  assert.equal(state.failures, 3);
});

test("every exit bumps the generation, so the waiter of an older exit knows it is stale", () => {
  const first = decideRestart(always, freshRestartState(0), crash(S));
  const second = decideRestart(always, first.state, crash(2 * S));
  assert.deepEqual([first.state.generation, second.state.generation], [1, 2]);
});

test("a restart that cannot start the container is one more failure, with the reason kept", () => {
  const waiting = restarting(decideRestart(onFailure, freshRestartState(0), crash(S))).state;
  const d = restarting(decideAfterFailedStart(onFailure, waiting, "runc create failed", 11 * S));
  assert.equal(d.delayMs, 20 * S);
  assert.equal(d.state.failures, 2);
  assert.match(d.state.note ?? "", /last restart failed: runc create failed/);
  const limited = parseRestartPolicy("on-failure:1", DEFAULT_BACKOFF);
  const giveUp = decideAfterFailedStart(limited, { ...waiting, failures: 1 }, "no rootfs", 11 * S);
  assert.ok(!giveUp.restart);
  assert.match(giveUp.reason, /last restart failed: no rootfs; it failed 2 times in a row/);
  assert.equal(giveUp.state.nextRetryAtMs, null);
});

test("ps's view: a pending retry only while its waiter lives; none at all without a policy", () => {
  const waiting = restarting(decideRestart(onFailure, { ...freshRestartState(0), restarts: 4 }, crash(S, 3))).state;
  assert.deepEqual(restartView(onFailure, waiting, true), { policy: "on-failure", restarts: 4, lastExitCode: 3, nextRetryAtMs: 11 * S, note: null });
  const lost = restartView(onFailure, waiting, false);
  assert.equal(lost?.nextRetryAtMs, null);
  assert.match(lost?.note ?? "", /waiter is gone/);
  assert.equal(restartView(parseRestartPolicy("no", DEFAULT_BACKOFF), waiting, true), null);
  assert.deepEqual(restartView(always, null, false), { policy: "always", restarts: 0, lastExitCode: null, nextRetryAtMs: null, note: null });
});
