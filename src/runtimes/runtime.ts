// The narrow interface every OCI runtime adapter implements. Runtime differences live
// behind it; the core asks the adapter, never `if (name === "runc")`.
import type { CgroupFacts } from "../host/cgroups.ts";
import { isAtLeast } from "../host/version.ts";

export const runtimeNames = ["runc", "crun"] as const;
export type RuntimeName = (typeof runtimeNames)[number];

// What `<runtime> --version` says about the binary.
export interface RuntimeVersionInfo {
  version: string | null;
  // Built with checkpoint/restore support (runc always is; crun only with +CRIU).
  checkpointBuilt: boolean;
}

export interface RuntimeAdapter {
  readonly name: RuntimeName;
  // The executable looked up on PATH.
  readonly binary: string;
  parseVersion(versionOutput: string): RuntimeVersionInfo;
  // The first version whose `exec` starts processes in the time namespace of the
  // container's PID 1 (after a CRIU restore, a namespace CRIU made).
  readonly execJoinsTimeNamespaceSince: string;
  // Host conditions under which this runtime cannot run containers at all (empty: none).
  hostBlockers(cgroups: CgroupFacts): string[];
}

// Whether `<runtime> exec` at `version` joins the container's time namespace.
export function execJoinsTimeNamespace(adapter: RuntimeAdapter, version: string): boolean {
  return isAtLeast(version, adapter.execJoinsTimeNamespaceSince);
}
