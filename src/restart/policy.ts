// `run --restart`: which containers the monitor starts again when they exit, and when.
// Pure: the exit handler (exit-handler.ts) gathers the facts and carries out the decision.
//
//   no               never (the default)
//   on-failure[:N]   when it exits non-zero or is killed by a signal; at most N restarts
//                    in a row (no limit without :N)
//   always           whenever it exits; at most N with always:N
//
// Either way a container ckpt ends on purpose (stop, rm, a checkpoint that stops it, the
// source of a migration) is never started again, and the delays follow the back-off
// schedule of restore --all (backoff.ts), which starts over after a long enough run.
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { failed, type BackoffPolicy, type BackoffState } from "../recovery/backoff.ts";
import { NO_RESTART, RestartPolicySchema, type RestartPolicy } from "../store/restart-policy-schema.ts";

// The record's schema (the store's); exported here too, for the callers that decide.
export { NO_RESTART, RestartPolicySchema, type RestartPolicy };

// podman's spelling: no, on-failure, on-failure:N, always (and always:N).
export function parseRestartPolicy(text: string, backoff: BackoffPolicy): RestartPolicy {
  const m = /^(no|on-failure|always)(?::(\d+))?$/.exec(text.trim());
  if (m === null || (m[1] === "no" && m[2] !== undefined)) {
    throw new CkptError(ExitCode.usage, `"${text}" is not a restart policy`, { hint: "use no, on-failure, on-failure:N (at most N restarts in a row) or always" });
  }
  const maxRetries = m[2] === undefined ? null : Number(m[2]);
  if (maxRetries === 0) throw new CkptError(ExitCode.usage, `"${text}": the number of restarts must be at least 1`, { hint: "use --restart no to never restart" });
  return { policy: m[1] as RestartPolicy["policy"], maxRetries, backoff };
}

export function formatRestartPolicy(p: RestartPolicy): string {
  return p.maxRetries === null ? p.policy : `${p.policy}:${p.maxRetries}`;
}

// What the exit handler knows when the container has exited.
export interface ExitFacts {
  // The exit code conmon recorded (128 + N for a signal), null when it wrote none.
  exitCode: number | null;
  // ckpt ended the container on purpose (stop, rm, checkpoint, migrate): why.
  heldBy: string | null;
  // The record points at a checkpoint: the container was checkpointed, not crashed.
  checkpointed: boolean;
  nowMs: number;
}

// What survives from one exit to the next: restart.json.
export const RestartStateSchema = z.object({
  // Restarts done since `ckpt run` (what ps shows).
  restarts: z.number().int().nonnegative(),
  // Failures since the back-off last started over, and when the current run began.
  failures: z.number().int().nonnegative(),
  runningSinceMs: z.number().nullable(),
  // Bumped on every exit, so a waiter from an older exit knows it is stale.
  generation: z.number().int().nonnegative(),
  lastExitCode: z.number().int().nullable(),
  lastExitAtMs: z.number().nullable(),
  // While a restart is pending: when, and the PID of the process that waits for it.
  nextRetryAtMs: z.number().nullable(),
  waiterPid: z.number().int().nullable(),
  // Why ckpt stopped restarting it, or why the last attempt failed.
  note: z.string().nullable(),
});
export type RestartState = z.infer<typeof RestartStateSchema>;

export function freshRestartState(nowMs: number): RestartState {
  return { restarts: 0, failures: 0, runningSinceMs: nowMs, generation: 0, lastExitCode: null, lastExitAtMs: null, nextRetryAtMs: null, waiterPid: null, note: null };
}

export type RestartDecision =
  | { restart: false; reason: string; state: RestartState }
  | { restart: true; delayMs: number; retryAtMs: number; state: RestartState };

export function decideRestart(policy: RestartPolicy, state: RestartState, facts: ExitFacts): RestartDecision {
  const exited: RestartState = { ...state, generation: state.generation + 1, lastExitCode: facts.exitCode, lastExitAtMs: facts.nowMs, nextRetryAtMs: null, waiterPid: null, note: null };
  if (policy.policy === "no") return stay(exited, "its restart policy is no");
  if (facts.heldBy !== null) return stay(exited, `ckpt ended it on purpose (${facts.heldBy})`);
  if (facts.checkpointed) return stay(exited, "it was checkpointed");
  if (policy.policy === "on-failure" && facts.exitCode === 0) return stay(exited, "it exited 0 and its restart policy is on-failure");
  return schedule(policy, exited, facts.nowMs);
}

// A restart that could not start the container counts as one more failure in a row.
export function decideAfterFailedStart(policy: RestartPolicy, state: RestartState, why: string, nowMs: number): RestartDecision {
  const d = schedule(policy, { ...state, runningSinceMs: null }, nowMs);
  const note = `the last restart failed: ${why}`;
  return d.restart ? { ...d, state: { ...d.state, note } } : stay(d.state, `${note}; ${d.reason}`);
}

function schedule(policy: RestartPolicy, state: RestartState, nowMs: number): RestartDecision {
  const next = failed(policy.backoff, { failures: state.failures, runningSinceMs: state.runningSinceMs } satisfies BackoffState, nowMs);
  if (policy.maxRetries !== null && next.state.failures > policy.maxRetries) {
    return stay({ ...state, failures: next.state.failures }, `it failed ${next.state.failures} times in a row and ${formatRestartPolicy(policy)} allows ${policy.maxRetries} restart${policy.maxRetries === 1 ? "" : "s"}`);
  }
  return { restart: true, delayMs: next.delayMs, retryAtMs: next.retryAtMs, state: { ...state, failures: next.state.failures, runningSinceMs: null, nextRetryAtMs: next.retryAtMs, waiterPid: null } };
}

function stay(state: RestartState, reason: string): RestartDecision {
  return { restart: false, reason, state: { ...state, runningSinceMs: null, nextRetryAtMs: null, waiterPid: null, note: reason } };
}

// What `ps` shows of a container's restarts. A retry counts as pending only while its
// waiter lives (a reboot or a kill ends it, and nothing restarts the container then).
export interface RestartView {
  policy: string;
  restarts: number;
  lastExitCode: number | null;
  nextRetryAtMs: number | null;
  note: string | null;
}

export function restartView(policy: RestartPolicy, state: RestartState | null, waiterAlive: boolean): RestartView | null {
  if (policy.policy === "no") return null;
  const pending = state?.nextRetryAtMs != null && waiterAlive;
  const lost = state?.nextRetryAtMs != null && !waiterAlive;
  return {
    policy: formatRestartPolicy(policy),
    restarts: state?.restarts ?? 0,
    lastExitCode: state?.lastExitCode ?? null,
    nextRetryAtMs: pending ? state!.nextRetryAtMs : null,
    note: lost ? "the restart it waited for was lost (its waiter is gone, e.g. after a reboot)" : (state?.note ?? null),
  };
}
