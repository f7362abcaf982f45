// Whether a directory of the store (a partial dump, a failed one's log, a staging
// directory) may still belong to a command that runs: nothing is pruned from under a
// running ckpt, CRIU or runtime. Each check answers why it may be in use, or null; the
// first answer wins. A per-container lock, when ckpt has them, is one more check.
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import type { StagingName } from "../archive/staging.ts";
import { isSameProcess } from "../proc/process.ts";

// Every live process's working directory and open files (read once per prune).
export type ProcessHolds = Map<number, { command: string; paths: string[] }>;

export async function readProcessHolds(): Promise<ProcessHolds> {
  const holds: ProcessHolds = new Map();
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
      const paths = await Promise.all([readlink(`/proc/${pid}/cwd`).catch(() => ""), ...fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => ""))]);
      const command = (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
      holds.set(pid, { command, paths: paths.filter((p) => p.startsWith("/")) });
    }),
  );
  return holds;
}

export interface LeftoverFacts {
  path: string;
  // What its staging directory's name says (the PID that made it), when it is one.
  staging?: StagingName | null;
  // Read once, on first use (a store with nothing to judge never scans /proc).
  holds: () => Promise<ProcessHolds>;
  nowMs: number;
  // Whether a recent change counts as a sign of an owner: where nothing else names one
  // (a checkpoint's leftovers record no PID).
  recentChangeMeansInUse: boolean;
}

// A leftover changed this recently may be a dump in progress between two writes (a dump
// that makes no progress for the progress timeout, 60 s by default, is ended anyway).
export const RECENT_CHANGE_MS = 2 * 60_000;

type OwnershipCheck = (facts: LeftoverFacts) => Promise<string | null>;

const checks: OwnershipCheck[] = [madeByLiveProcess, heldOpen, changedRecently];

// Why `facts.path` may be in use, or null when nothing that runs owns it.
export async function leftoverInUse(facts: LeftoverFacts): Promise<string | null> {
  for (const check of checks) {
    const why = await check(facts);
    if (why !== null) return why;
  }
  return null;
}

// A staging directory names the ckpt process that made it.
async function madeByLiveProcess({ staging }: LeftoverFacts): Promise<string | null> {
  if (staging?.pid == null || staging.startTimeTicks === null) return null;
  return (await isSameProcess(staging.pid, staging.startTimeTicks)) ? `made by PID ${staging.pid}, which still runs` : null;
}

// A process (CRIU, a runtime, ckpt) has a file open below it, or works in it.
async function heldOpen({ path, holds }: LeftoverFacts): Promise<string | null> {
  for (const [pid, held] of await holds()) {
    if (pid === process.pid) continue;
    if (held.paths.some((p) => p === path || p.startsWith(`${path}/`))) return `held open by PID ${pid} (${held.command})`;
  }
  return null;
}

async function changedRecently({ path, nowMs, recentChangeMeansInUse, staging }: LeftoverFacts): Promise<string | null> {
  if (!recentChangeMeansInUse || staging?.pid != null) return null;
  const changedMs = await lastChangeMs(path);
  const ago = nowMs - changedMs;
  return ago < RECENT_CHANGE_MS ? `changed ${Math.max(0, Math.round(ago / 1000))} s ago: it may belong to a command still running (try again in ${Math.ceil((RECENT_CHANGE_MS - ago) / 1000)} s)` : null;
}

// The newest modification time of `dir`, its entries and theirs (a dump writes its log and
// images one level down).
export async function lastChangeMs(dir: string): Promise<number> {
  let newest = (await stat(dir).catch(() => null))?.mtimeMs ?? 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, (await stat(path).catch(() => null))?.mtimeMs ?? 0);
    if (entry.isDirectory()) {
      for (const inner of await readdir(path).catch(() => [] as string[])) newest = Math.max(newest, (await stat(join(path, inner)).catch(() => null))?.mtimeMs ?? 0);
    }
  }
  return newest;
}
