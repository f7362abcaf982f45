// Pure: the runtime and CRIU that dumped a checkpoint beside those restoring it, what an
// operator should hear about the difference, and who keeps the restored container on one
// clock from now on.
import type { Manifest } from "../checkpoint/manifest.ts";
import type { OneClockKeeper, RuntimeName } from "../runtimes/runtime.ts";

export interface RestoringWith {
  runtime: RuntimeName;
  runtimeVersion: string;
  runtimePath: string;
  criuVersion: string;
  oneClock: OneClockKeeper;
}

export interface RestoreVersions {
  dumpedBy: { runtime: string; runtimeVersion: string; criuVersion: string };
  restoredBy: RestoringWith;
  // Who keeps processes started with exec in PID 1's time namespace from now on.
  oneClock: OneClockKeeper;
  warnings: string[];
}

// A version the manifest does not know ("" in checkpoints of other engines) is no change.
const known = (v: string) => v !== "" && v !== "unknown";

export function compareDumpAndRestore(manifest: Pick<Manifest, "runtime" | "criuVersion">, now: RestoringWith): RestoreVersions {
  const dumped = manifest.runtime;
  const changes: string[] = [];
  if (dumped.name !== now.runtime) changes.push(`${dumped.name}${known(dumped.version) ? ` ${dumped.version}` : ""} dumped it, ${now.runtime} ${now.runtimeVersion} restores it`);
  else if (known(dumped.version) && dumped.version !== now.runtimeVersion) changes.push(`${dumped.name} ${dumped.version} dumped it, ${now.runtime} ${now.runtimeVersion} (${now.runtimePath}) restores it`);
  if (known(manifest.criuVersion) && known(now.criuVersion) && manifest.criuVersion !== now.criuVersion) changes.push(`CRIU ${manifest.criuVersion} dumped it, CRIU ${now.criuVersion} restores it`);
  return {
    dumpedBy: { runtime: dumped.name, runtimeVersion: dumped.version, criuVersion: manifest.criuVersion },
    restoredBy: now,
    oneClock: now.oneClock,
    warnings: changes.length === 0 ? [] : [`restored by other versions than dumped it: ${changes.join("; ")} (ckpt checks the clocks and the images either way; if the restore misbehaves, restore with the dumping versions: --runtime-path, --criu)`],
  };
}

// One line for restore's output: who keeps exec'd processes on PID 1's clock.
export function oneClockLine(v: Pick<RestoreVersions, "restoredBy">): string {
  const r = v.restoredBy;
  return r.oneClock === "runtime"
    ? `one clock: ${r.runtime} ${r.runtimeVersion}'s own exec joins the container's time namespace; ckpt relies on it (ckpt exec and ${r.runtime} exec agree)`
    : `one clock: ${r.runtime} ${r.runtimeVersion}'s exec would start processes on the host's clocks; ckpt exec enters the container's time namespace first (use ckpt exec, not ${r.runtime} exec)`;
}
