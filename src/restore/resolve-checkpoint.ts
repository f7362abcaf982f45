// Which checkpoint a restore takes, and whether CRIU could restore it at all: decided
// before anything is created.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { listCheckpoints } from "../checkpoint/checkpoint-store.ts";
import { tasksOutsideRootTimeNamespace, type DumpContents } from "../criu/dump-contents.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { checkpointKind } from "./checkpoint-source.ts";
import { looksLikeImageRef } from "../image/image-ref.ts";

// A container name (its newest complete checkpoint) or a checkpoint directory.
export async function resolveCheckpoint(store: ContainerStore, source: string): Promise<string> {
  if (source.includes("/") || checkpointKind(source) !== null) return resolve(source);
  const found = await listCheckpoints(store.layout, source);
  const latest = found.at(-1);
  if (latest === undefined) {
    const exported = (await store.find(source).catch(() => null))?.checkpointedTo;
    if (exported && !existsSync(join(exported, "manifest.json")) && !exported.endsWith(".partial")) {
      throw new CkptError(ExitCode.notFound, `"${source}" was exported, not kept in the store`, { hint: looksLikeImageRef(exported) ? `restore it from its image: ckpt restore ${exported}` : `restore it from its archive: ckpt restore --import ${exported}` });
    }
    throw new CkptError(ExitCode.notFound, `no checkpoint of "${source}" in the store`, { hint: "`ckpt checkpoints` lists what the store holds; a checkpoint directory can be given as a path" });
  }
  // The container's own last checkpoint, when it is not that one: never restore an older
  // state in its place without being told to.
  const last = (await store.find(source).catch(() => null))?.checkpointedTo;
  if (last && last !== latest.dir && !existsSync(join(last, "manifest.json"))) {
    if (last.startsWith(`${store.layout.containerCheckpointsDir(source)}/`) || last.endsWith(".partial") || last.endsWith(".failed")) {
      throw new CkptError(ExitCode.refused, `the last checkpoint of "${source}" (${last}) is incomplete: it was interrupted; the newest complete one, ${latest.dir}, holds an older state`, {
        hint: `restore that older state deliberately with: ckpt restore ${latest.dir}`,
      });
    }
    // Its last checkpoint went to an archive (an export without --keep): the store's newest
    // is older than that.
    throw new CkptError(ExitCode.refused, `"${source}" was last exported to ${last}, not kept in the store; the newest checkpoint in the store, ${latest.dir}, holds an older state`, {
      hint: `restore it from its archive: ckpt restore --import ${last}; or that older state deliberately: ckpt restore ${latest.dir}`,
    });
  }
  return latest.dir;
}

// TESTBED fact 2: tasks in another time namespace than PID 1's make CRIU fail with
// "Can't restore sub-task in NS", after it has started creating the container.
export function refuseSplitTimeNamespaces(dump: DumpContents, label: string): void {
  const outside = tasksOutsideRootTimeNamespace(dump);
  if (outside.length === 0) return;
  const root = dump.tasks.find((t) => t.ppid === 0);
  throw new CkptError(ExitCode.badCheckpoint, `${label} cannot be restored: ${outside.length} of its ${dump.tasks.length} tasks are in another time namespace than PID 1's, and CRIU would fail with "Can't restore sub-task in NS"`, {
    evidence: [
      `PID ${root?.pid ?? 1} (${root?.command ?? "?"}): time namespace ${dump.rootTimeNsId}`,
      ...outside.map((t) => `PID ${t.pid} (${t.command}): time namespace ${t.ids?.timeNsId} (started by an exec that did not join PID 1's namespace, e.g. runc before 1.2.7)`),
    ],
    hint: `repair a copy so that every task is in PID 1's namespace: ckpt repair --unify-timens ${label} -o ${label.replace(/\/+$/, "")}.repaired`,
  });
}

