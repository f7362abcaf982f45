// Decides, before anything is frozen, whether checkpointing a container would lose a
// process or produce a checkpoint that cannot be restored. Pure: the caller reads the
// tasks of the container's cgroup from /proc and acts on the verdict.
//
// - A task that is not a descendant of the container's PID 1 (`exec -d` re-parents to
//   the host's init) is not dumped by CRIU: it vanishes silently. Refused unless the
//   operator allows process loss.
// - Tasks in more than one time namespace make a checkpoint whose restore fails with
//   "Can't restore sub-task in NS": the container would be lost. Always refused.
import type { ContainerTask } from "../proc/container-tasks.ts";

export type { ContainerTask };

export interface PreflightOptions {
  allowProcessLoss: boolean;
}

export type PreflightRefusal =
  | { kind: "outside-process-tree"; tasks: ContainerTask[] }
  | { kind: "split-time-namespaces"; pid1Namespace: string; others: ContainerTask[] };

export interface PreflightVerdict {
  ok: boolean;
  refusals: PreflightRefusal[];
  // Tasks that will not be in the checkpoint because the operator allowed it.
  willBeLost: ContainerTask[];
}

export function checkpointPreflight(pid1: number, tasks: readonly ContainerTask[], options: PreflightOptions): PreflightVerdict {
  const byPid = new Map(tasks.map((t) => [t.pid, t]));
  const root = byPid.get(pid1);
  if (root === undefined) throw new Error(`PID 1 of the container (host PID ${pid1}) is not among its tasks`);

  const outside = tasks.filter((t) => !descendsFrom(t, pid1, byPid));
  const inTree = tasks.filter((t) => !outside.includes(t));
  const otherNamespaces = inTree.filter((t) => t.timeNamespace !== root.timeNamespace);

  const refusals: PreflightRefusal[] = [];
  if (outside.length > 0 && !options.allowProcessLoss) refusals.push({ kind: "outside-process-tree", tasks: outside });
  if (otherNamespaces.length > 0) refusals.push({ kind: "split-time-namespaces", pid1Namespace: root.timeNamespace, others: otherNamespaces });
  return { ok: refusals.length === 0, refusals, willBeLost: options.allowProcessLoss ? outside : [] };
}

// Follows parents within the container; a chain that leaves it never reaches PID 1.
function descendsFrom(task: ContainerTask, pid1: number, byPid: Map<number, ContainerTask>): boolean {
  const seen = new Set<number>();
  for (let t: ContainerTask | undefined = task; t !== undefined; t = byPid.get(t.ppid)) {
    if (t.pid === pid1) return true;
    if (seen.has(t.pid)) return false; // a cycle cannot happen in /proc, but never loop
    seen.add(t.pid);
  }
  return false;
}

// One line per refusal, naming PIDs and command lines, for the error message.
export function describeRefusal(refusal: PreflightRefusal): string {
  const list = (tasks: ContainerTask[]) => tasks.map((t) => `${t.pid} (${t.command})`).join(", ");
  return refusal.kind === "outside-process-tree"
    ? `not descendants of the container's PID 1, so CRIU would drop them: ${list(refusal.tasks)}`
    : `in another time namespace than PID 1's (${refusal.pid1Namespace}), so the checkpoint would not restore: ${list(refusal.others)}`;
}
