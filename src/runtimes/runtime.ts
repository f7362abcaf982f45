// The narrow interface every OCI runtime adapter implements. Runtime differences live
// behind it; the core asks the adapter, never `if (name === "runc")`.
import type { CgroupFacts } from "../host/cgroups.ts";
import { isAtLeast } from "../host/version.ts";

import { runtimeNames, type RuntimeName } from "../oci/runtime-names.ts";

export { runtimeNames, type RuntimeName };

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
  // The first version that creates a container with a time namespace of its own when the
  // spec lists one (`linux.namespaces: [{type: "time"}]`).
  readonly createsTimeNamespaceSince: string;
  // Namespace types the runtime cannot join (a `path` in the spec) in a container that also
  // gets a time namespace of its own; ckpt then gives the container none.
  readonly timeNamespaceBreaksJoining: readonly string[];
  // Host conditions under which this runtime cannot run containers at all (empty: none).
  hostBlockers(cgroups: CgroupFacts): string[];
  // How a restore is told to put PID 1 into an existing time namespace: through CRIU's
  // config file named by the org.criu.config annotation (runc), or a path on the spec's
  // time namespace, which the runtime hands to CRIU as join-ns (crun).
  readonly restoreJoinsTimeNamespaceVia: "criu-config" | "spec-namespace-path";
  // Whether `checkpoint` takes --lazy-pages, --page-server and --status-fd (post-copy
  // migration) and `restore` takes --lazy-pages.
  readonly lazyPages: boolean;
  // How this version lets CRIU read a configuration file of ckpt's; null when it has no way
  // (ckpt's options then reach CRIU as flags only).
  criuConfig(version: string): RuntimeCriuConfig | null;
  // For a runtime whose exec does not join the container's time namespace: makes it
  // usable from inside that namespace (entered with nsenter --time) and returns the state
  // root to pass it. Absent when the runtime has no way.
  prepareExecInTimeNamespace?(request: ExecInTimeNamespaceRequest): Promise<string>;
}

export interface RuntimeCriuConfig {
  // "annotation": the runtime has CRIU read the file org.criu.config names after the
  // options it sends CRIU itself, so the file overrides them. "environment": CRIU reads the
  // file CRIU_CONFIG_FILE names before the runtime's options, which win over it.
  via: "annotation" | "environment";
  // The file the runtime names without an annotation: the first of these that exists.
  defaults: string[];
  // With "environment": the options the runtime always sends CRIU itself (a file read
  // before them cannot change them), besides the dump options ckpt passes as flags.
  runtimeSets: string[];
}

// The environment variable that names a CRIU configuration file CRIU reads at start.
export const CRIU_CONFIG_FILE_ENV = "CRIU_CONFIG_FILE";

export interface ExecInTimeNamespaceRequest {
  stateRoot: string;
  id: string;
  pid1: number;
  // A directory the adapter may fill; the caller removes it after the exec.
  scratchDir: string;
}

// Whether `<runtime> exec` at `version` joins the container's time namespace.
export function execJoinsTimeNamespace(adapter: RuntimeAdapter, version: string): boolean {
  return isAtLeast(version, adapter.execJoinsTimeNamespaceSince);
}

// Who keeps a restored container's exec'd processes in PID 1's time namespace: the
// runtime itself when its exec joins it (runc >= 1.2.7, crun >= 0.14), else ckpt exec
// (which enters the namespace before the runtime runs). Either way, one clock.
export type OneClockKeeper = "runtime" | "ckpt";
export function oneClockKeeper(adapter: RuntimeAdapter, version: string): OneClockKeeper {
  return execJoinsTimeNamespace(adapter, version) ? "runtime" : "ckpt";
}

// Whether `<runtime> run` at `version` can give a container its own time namespace.
export function createsTimeNamespace(adapter: RuntimeAdapter, version: string): boolean {
  return isAtLeast(version, adapter.createsTimeNamespaceSince);
}

// What `ckpt checkpoint` asks of the runtime's checkpoint command.
export interface CheckpointArgs {
  stateRoot: string;
  id: string;
  imageDir: string;
  workDir: string;
  leaveRunning: boolean;
  tcpEstablished: boolean;
  fileLocks: boolean;
  // A lazy dump: CRIU writes everything but the memory, says so on `statusFd` (a NUL
  // byte), then serves the pages at `pageServer` (ADDR:PORT) until the restore has them all.
  lazyPages?: { pageServer: string; statusFd: number };
}

// The argv of `<runtime> checkpoint`; runc and crun take the same flags.
export function checkpointArgv(a: CheckpointArgs): string[] {
  return [
    "--root", a.stateRoot,
    "checkpoint",
    "--image-path", a.imageDir,
    "--work-path", a.workDir,
    ...(a.leaveRunning ? ["--leave-running"] : []),
    ...(a.tcpEstablished ? ["--tcp-established"] : []),
    ...(a.fileLocks ? ["--file-locks"] : []),
    ...(a.lazyPages ? ["--lazy-pages", "--page-server", a.lazyPages.pageServer, "--status-fd", String(a.lazyPages.statusFd)] : []),
    a.id,
  ];
}

// Restore options passed through to `<runtime> restore`.
export function restoreOptionArgs(o: { tcpEstablished: boolean; fileLocks: boolean; lazyPages?: boolean }): string[] {
  return [...(o.tcpEstablished ? ["--tcp-established"] : []), ...(o.fileLocks ? ["--file-locks"] : []), ...(o.lazyPages === true ? ["--lazy-pages"] : [])];
}
