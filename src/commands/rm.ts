// `ckpt rm [-f] NAME...`: removes containers; their checkpoints stay in the store. Every
// name is tried: one that fails (or is missing) does not keep the others running.
import { openStore, runtimeFor, liveState } from "../container/context.ts";
import { isActive } from "../container/status.ts";
import { stopContainer } from "../container/stop.ts";
import { holdRestarts } from "../restart/restart-state.ts";
import { CkptError, ExitCode, ExitError } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { errorJson, errorLines } from "../output/error-text.ts";
import { printJson } from "../output/json.ts";
import { removeContainer } from "../container/remove.ts";
import { recoverContainer } from "../operations/recover.ts";
import { sayRecovered } from "./open-recovered.ts";
import { DamagedRecordError, type ContainerStore } from "../store/container-store.ts";
import { validateContainerName } from "../store/names.ts";
import { inspectDamaged, removeDamaged } from "../container/damaged.ts";
import { withContainerLock } from "../store/locks.ts";

interface RmOptions extends GlobalOptions {
  force?: boolean;
}

export type Removal = { name: string; outcome: "removed" | "missing" } | { name: string; outcome: "failed"; error: CkptError };

// The exit code of an rm of several names: 0 when each was removed or, with -f, was not
// there (as podman's rm -f); else the code of the first name that failed, in the order
// given (4 for a missing one without -f, 9 for a running one without -f).
export function rmExitCode(removals: readonly Removal[]): ExitCode {
  const failed = removals.find((r) => r.outcome === "failed");
  return failed === undefined ? ExitCode.ok : failed.error.exitCode;
}

export async function rmCommand(names: string[], options: RmOptions): Promise<void> {
  const store = openStore(options);
  const force = options.force === true;
  const removals: Removal[] = [];
  let unexpected: unknown;
  for (const name of names) {
    let removal: Removal;
    try {
      const removed = await withContainerLock(store.layout, name, { timeoutMs: options.lockTimeoutMs }, () => removeOne(store, name, force));
      removal = { name, outcome: removed ? "removed" : "missing" };
    } catch (error) {
      if (!(error instanceof CkptError)) {
        unexpected ??= error;
        continue;
      }
      removal = { name, outcome: "failed", error };
    }
    removals.push(removal);
    if (options.json) continue;
    if (removal.outcome === "failed") process.stderr.write(`${errorLines(removal.error).join("\n")}\n`);
    else if (removal.outcome === "removed") process.stdout.write(`${name}\n`);
    else process.stderr.write(`ckpt: no container named "${name}"; nothing to remove\n`);
  }
  if (options.json) {
    printJson({
      removed: removals.filter((r) => r.outcome === "removed").map((r) => r.name),
      missing: removals.filter((r) => r.outcome === "missing").map((r) => r.name),
      failed: removals.flatMap((r) => (r.outcome === "failed" ? [{ name: r.name, ...errorJson(r.error) }] : [])),
    });
  }
  if (unexpected !== undefined) throw unexpected;
  const code = rmExitCode(removals);
  if (code !== ExitCode.ok) throw new ExitError(code);
}

// Removes one container; false when there is none of that name and `force` forgives it.
async function removeOne(store: ContainerStore, name: string, force: boolean): Promise<boolean> {
  const entry = await store.entry(validateContainerName(name));
  if (entry !== null && "damage" in entry) {
    // No record to go by: what runs of it is found through the runtime and its monitor.
    if (!force) throw new DamagedRecordError(name, entry.damage);
    await removeDamaged(store, await inspectDamaged(store, name, entry.damage));
    return true;
  }
  // An interrupted operation first: a dump CRIU finished becomes a checkpoint, kept in
  // the store, before its container goes.
  sayRecovered(await recoverContainer(store, name));
  const record = entry === null ? null : await store.find(name);
  if (record === null) {
    if (force) return false;
    throw new CkptError(ExitCode.notFound, `no container named "${name}"`, { hint: "list containers with: ckpt ps -a (rm -f ignores missing names)" });
  }
  const ctx = { store, record, runtime: runtimeFor(store, record.runtime, record.runtimePath) };
  const live = await liveState(ctx);
  if (isActive(live.status)) {
    if (!force) {
      throw new CkptError(ExitCode.conflict, `container "${name}" is ${live.status}`, { hint: `stop it first (ckpt stop ${name}) or remove it anyway with ckpt rm -f ${name}` });
    }
    await stopContainer(ctx, 0, "removed");
  }
  // A restart that is pending is called off before the container's directory goes.
  await holdRestarts(store.layout, record, "removed");
  await removeContainer(store, record, ctx.runtime);
  return true;
}
