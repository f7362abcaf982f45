// Pure: whether a checkpoint may go ahead, from the facts gathered before anything is
// frozen: the container's state, the pre-flight verdict on its tasks, the dump options
// asked for and those in effect once the operator's CRIU configuration is merged, and the
// TCP connections it holds. A refusal is complete (what, why, how to proceed); the apply
// step (operations/checkpoint.ts) throws it as it is.
import { ExitCode } from "../errors.ts";
import { describeRefusal, type PreflightVerdict } from "./preflight.ts";
import { criuOptionName, type DumpOptionName, type DumpOptions } from "../criu/dump-options.ts";
import type { ContainerStatus } from "../container/status.ts";
import type { ContainerTask } from "../proc/container-tasks.ts";

export interface CheckpointFacts {
  name: string;
  // "runc 1.1.5": the runtime the container runs on.
  runtime: string;
  status: ContainerStatus;
  verdict: PreflightVerdict;
  // The flags' request contradicts itself (checkDumpRequest), or null.
  contradiction: string | null;
  // The options CRIU will dump with, and those the runtime cannot hand it.
  effective: DumpOptions;
  unpassable: readonly DumpOptionName[];
  // Its open TCP connections, described ("PID 7 (nginx): 10.0.0.2:80 <-> ...").
  connections: readonly string[];
  // When the CRIU in use cannot dump inet sockets on this kernel (CRIU 4.1.x on Linux >=
  // 6.16): that CRIU, CRIU's reason, and the inet sockets the container holds. Absent
  // when the CRIU can, or when it is not known.
  inetBlocked?: { criu: string; reason: string; sockets: readonly string[] } | undefined;
}

export type CheckpointPlan =
  | { kind: "refused"; exitCode: ExitCode; message: string; evidence: string[]; hint: string | undefined }
  | { kind: "dump"; options: DumpOptions; willBeLost: readonly ContainerTask[] };

export function planCheckpoint(f: CheckpointFacts): CheckpointPlan {
  const refuse = (exitCode: ExitCode, message: string, hint?: string, evidence: string[] = []): CheckpointPlan => ({ kind: "refused", exitCode, message, evidence, hint });
  if (f.status !== "running") {
    return refuse(ExitCode.conflict, `container "${f.name}" is ${f.status}, not running: there is nothing to checkpoint`, f.status === "checkpointed" ? `it is already checkpointed; restore it with: ckpt restore ${f.name}` : "only running containers can be checkpointed");
  }
  if (!f.verdict.ok) {
    const outside = f.verdict.refusals.some((r) => r.kind === "outside-process-tree");
    return refuse(
      ExitCode.refused,
      `refusing to checkpoint "${f.name}": the checkpoint would lose processes or could not be restored`,
      outside
        ? "processes started with `exec -d` by runc or podman live outside PID 1's tree; stop them, start them with `ckpt exec -d` instead, or accept their loss with --allow-process-loss"
        : "processes started by `runc exec` before 1.2.7 run on the host's clock; stop them and start them again with `ckpt exec`",
      f.verdict.refusals.map(describeRefusal),
    );
  }
  if (f.contradiction !== null) return refuse(ExitCode.usage, f.contradiction);
  if (f.unpassable.length > 0) {
    return refuse(ExitCode.usage, `${f.runtime} cannot give CRIU ${f.unpassable.map((o) => `--${criuOptionName[o]}`).join(", ")}: it has no such flag and has CRIU read no configuration file`, "checkpoint it without that option, or run the container on runc");
  }
  // CRIU fails on the first connected TCP socket unless told to keep or drop them: name
  // them all instead (what is in effect decides: the operator's configuration may say).
  if (!f.effective.tcpEstablished && !f.effective.tcpClose && f.connections.length > 0) {
    return refuse(
      ExitCode.refused,
      `refusing to checkpoint "${f.name}": it has ${f.connections.length} open TCP connection(s), which CRIU dumps only when told what to do with them`,
      "keep them with --tcp-established (the peers must stay, and the container comes back at the same address), or drop them with --tcp-close (the peers see them reset)",
      [...f.connections],
    );
  }
  // A CRIU that fails on every inet socket would freeze the container only to fail.
  if (f.inetBlocked !== undefined && f.inetBlocked.sockets.length > 0) {
    const b = f.inetBlocked;
    return refuse(
      ExitCode.refused,
      `refusing to checkpoint "${f.name}": ${b.criu} cannot dump inet sockets on this kernel, and it holds ${b.sockets.length}`,
      "checkpoint it with CRIU >= 4.2 (--criu PATH, or scripts/setup-host.sh installs it); ckpt doctor shows the CRIU in use",
      [...b.sockets, `CRIU: ${b.reason}`],
    );
  }
  return { kind: "dump", options: f.effective, willBeLost: f.verdict.willBeLost };
}
