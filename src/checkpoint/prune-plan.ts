// What `ckpt checkpoints prune` and the `retain` setting remove from the store. Pure: the
// facts (what is there, who holds what, what is protected) come in, a decision for each
// entry goes out, with the reason an operator reads.

// checkpoint: a complete checkpoint (STAMP); unreadable: a STAMP directory without a
// readable manifest; partial: STAMP.partial (a dump not yet, or never, renamed); failed:
// STAMP.failed (a failed dump's log); work: STAMP.work (a lazy dump's CRIU work files);
// staging: an export's or import's staging directory (ckpt-export-*, ckpt-import-*).
export type StoreEntryKind = "checkpoint" | "unreadable" | "partial" | "failed" | "work" | "staging";

export interface StoreEntry {
  path: string;
  kind: StoreEntryKind;
  // The container it belongs to; null for staging.
  container: string | null;
  // When it was made: its stamp, or a staging directory's last change.
  atNs: bigint;
  // partial and staging: whether it holds a dump CRIU finished (its statistics and inventory).
  completeDump: boolean;
  // staging: what made it.
  purpose?: "import" | "export";
  // Why a command that is still running may own it ("held by PID 12 (criu)"), or null.
  inUse: string | null;
  // Why it must stay whatever the policy ("named by the recovery journal"), or null.
  protectedBy: string | null;
}

export interface PrunePolicy {
  // Complete checkpoints kept per container, newest first; null keeps them all (or, with
  // olderThanNs, none older than it). With both, a checkpoint goes when it is beyond the
  // newest `keep` and older than the cutoff.
  keep: number | null;
  // Only what was made before this instant is removed; null: whatever its age.
  olderThanNs: bigint | null;
  // Also remove partial dumps (and exports' staging holding a dump) that are not a
  // container's latest state.
  partial: boolean;
  // "all": every failed dump's log (prune); "superseded": those older than the oldest
  // checkpoint kept (the retention after a checkpoint).
  failed: "all" | "superseded";
  // Whether partial, work and staging directories are considered at all (prune: yes;
  // the retention after a checkpoint: no, it only thins out checkpoints and failures).
  leftovers: boolean;
}

export interface PruneDecision {
  entry: StoreEntry;
  action: "remove" | "keep";
  reason: string;
}

export function planPrune(entries: readonly StoreEntry[], policy: PrunePolicy): PruneDecision[] {
  const completeOf = new Map<string, StoreEntry[]>();
  for (const e of entries) {
    if (e.kind === "checkpoint" && e.container !== null) completeOf.set(e.container, [...(completeOf.get(e.container) ?? []), e]);
  }
  for (const list of completeOf.values()) list.sort((a, b) => (a.atNs > b.atNs ? -1 : a.atNs < b.atNs ? 1 : 0));
  const decisions = entries.map((entry) => ({ entry, ...decide(entry, policy, completeOf.get(entry.container ?? "") ?? []) }));
  return decisions.sort((a, b) => (a.entry.path < b.entry.path ? -1 : a.entry.path > b.entry.path ? 1 : 0));
}

// `newestFirst`: the complete checkpoints of the entry's container.
function decide(e: StoreEntry, policy: PrunePolicy, newestFirst: StoreEntry[]): { action: "remove" | "keep"; reason: string } {
  const keep = (reason: string) => ({ action: "keep" as const, reason });
  const remove = (reason: string) => ({ action: "remove" as const, reason });
  if (e.protectedBy !== null) return keep(e.protectedBy);
  if (e.inUse !== null) return keep(`in use: ${e.inUse}`);
  const leftover = e.kind === "partial" || e.kind === "work" || e.kind === "staging";
  if (leftover && !policy.leftovers) return keep("leftovers are pruned by ckpt checkpoints prune");
  if (policy.olderThanNs !== null && e.atNs >= policy.olderThanNs) return keep("made after the --older-than cutoff");
  const kept = policy.keep === null ? newestFirst : newestFirst.slice(0, policy.keep);
  const newerCheckpoint = newestFirst.find((c) => c.atNs > e.atNs);
  switch (e.kind) {
    case "checkpoint": {
      if (policy.keep === null) return policy.olderThanNs === null ? keep("every checkpoint is kept (no --keep, and retain is all)") : remove("made before the --older-than cutoff");
      const rank = newestFirst.indexOf(e);
      return rank < policy.keep ? keep(`one of the ${policy.keep} newest of ${e.container}`) : remove(`older than the ${policy.keep} newest of ${e.container}`);
    }
    case "unreadable":
      return keep(`no readable manifest: never removed automatically; ckpt checkpoints rm ${e.container}@STAMP removes it`);
    case "failed": {
      if (policy.failed === "all") return remove("a failed dump's log");
      const oldestKept = kept.at(-1);
      return oldestKept !== undefined && oldestKept.atNs > e.atNs ? remove("a failed dump's log, older than every checkpoint kept") : keep("a failed dump's log, newer than the oldest checkpoint kept");
    }
    case "work":
      return remove("a lazy dump's CRIU work files");
    case "partial":
      if (e.completeDump && newerCheckpoint === undefined) {
        return keep(`holds a complete dump newer than every checkpoint of ${e.container}: it may be the container's latest state (restore from it, or remove it with ckpt checkpoints rm ${e.container}@${basename(e.path)})`);
      }
      return partialDecision(e.completeDump ? `holds a complete dump, older than the checkpoint ${basename(newerCheckpoint!.path)}` : "holds an incomplete dump (CRIU did not finish)", policy);
    case "staging":
      if (e.purpose === "import") return remove("an import's unpacked archive (the archive itself is where it was)");
      return e.completeDump ? partialDecision("an export's staging holding a complete dump", policy) : remove("an export's staging without a complete dump");
  }
}

function partialDecision(holds: string, policy: PrunePolicy): { action: "remove" | "keep"; reason: string } {
  return policy.partial ? { action: "remove", reason: holds } : { action: "keep", reason: `${holds}; --partial removes it` };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
