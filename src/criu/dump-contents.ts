// Reads what a directory of CRIU images says about the dumped tasks: the process tree,
// each task's time namespace, memory and open files, the time namespace's clocks and
// CRIU's statistics. Used by `ckpt inspect`, `ckpt repair` and restore's own checks.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CORE_MAGIC,
  decodeEntries,
  FDINFO_MAGIC,
  FILES_MAGIC,
  IDS_MAGIC,
  INVENTORY_MAGIC,
  MM_MAGIC,
  PAGEMAP_MAGIC,
  PSTREE_MAGIC,
  readDumpStats,
  readTimensImage,
  timensImageName,
  type DumpStats,
} from "./images.ts";
import { CkptError, ExitCode } from "../errors.ts";

export type TaskState = "alive" | "dead" | "stopped" | "zombie" | "helper" | "thread" | "unknown";

export interface TaskIds {
  timeNsId: number | null;
  pidNsId: number | null;
  mntNsId: number | null;
  netNsId: number | null;
  filesId: number;
  vmId: number;
}

export interface MemorySummary {
  // Pages written to this task's pages image (not inherited from a parent dump).
  pagesWritten: number;
  areas: number;
  // Bytes of address space the areas cover.
  mappedBytes: number;
  // Areas backed by a file, anonymous private, and shared anonymous.
  fileAreas: number;
  anonymousAreas: number;
}

export interface OpenFile {
  fd: number;
  type: string;
  target: string;
}

export interface DumpedTask {
  pid: number;
  ppid: number;
  pgid: number;
  sid: number;
  threads: number[];
  command: string;
  state: TaskState;
  ids: TaskIds | null;
  memory: MemorySummary | null;
  files: OpenFile[];
}

export interface DumpContents {
  tasks: DumpedTask[];
  // PID 1's time namespace id within the dump.
  rootTimeNsId: number | null;
  timens: { imageName: string; monotonicNs: bigint; boottimeNs: bigint } | null;
  // The host's boottime when CRIU dumped (from /proc/uptime: 10 ms precision).
  dumpUptimeNs: bigint | null;
  stats: DumpStats | null;
}

const STATES: Record<number, TaskState> = { 1: "alive", 2: "dead", 3: "stopped", 6: "zombie", 0x80: "helper", 0x81: "thread" };
const FD_TYPES: Record<number, string> = { 1: "file", 2: "pipe", 3: "fifo", 4: "inet-socket", 5: "unix-socket", 6: "eventfd", 7: "eventpoll", 8: "inotify", 9: "signalfd", 10: "packet-socket", 11: "tty", 12: "fanotify", 13: "netlink-socket", 14: "namespace", 15: "tun", 16: "external", 17: "timerfd", 18: "memfd", 19: "bpf-map", 20: "pidfd" };
const VMA_FILE_PRIVATE = 1 << 6;
const VMA_FILE_SHARED = 1 << 7;
const VMA_ANON_SHARED = 1 << 8;
const VMA_ANON_PRIVATE = 1 << 9;

type Decoded = Record<string, unknown>;

async function image(dir: string, name: string): Promise<Uint8Array | null> {
  return readFile(join(dir, name)).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
}

function idsOf(e: Decoded | undefined | null): TaskIds | null {
  if (!e) return null;
  const n = (k: string) => (typeof e[k] === "number" && e[k] !== 0 ? (e[k] as number) : null);
  return { timeNsId: n("time_ns_id"), pidNsId: n("pid_ns_id"), mntNsId: n("mnt_ns_id"), netNsId: n("net_ns_id"), filesId: (e["files_id"] as number) ?? 0, vmId: (e["vm_id"] as number) ?? 0 };
}

// Decodes the images in `dir`. `details: false` leaves out the per-task memory and files, for
// callers that need only the tree and namespaces.
export async function readDumpContents(dir: string, options: { details?: boolean } = {}): Promise<DumpContents> {
  const details = options.details ?? true;
  const pstreeBytes = await image(dir, "pstree.img");
  if (pstreeBytes === null) {
    throw new CkptError(ExitCode.badCheckpoint, `${dir} holds no CRIU dump (pstree.img is missing)`, { hint: "give a checkpoint directory, its checkpoint/ folder of CRIU images, or an archive" });
  }
  const inventoryBytes = await image(dir, "inventory.img");
  const inventory = inventoryBytes === null ? null : decodeEntries(inventoryBytes, "inventory.img", INVENTORY_MAGIC, "criu.InventoryEntry")[0];
  const fdinfoPerId = inventory?.["fdinfo_per_id"] === true;

  const files = new Map<number, string>();
  if (details) {
    const filesBytes = await image(dir, "files.img");
    for (const f of filesBytes === null ? [] : decodeEntries(filesBytes, "files.img", FILES_MAGIC, "criu.FileEntry")) {
      const reg = f["reg"] as Decoded | null;
      const pipe = f["pipe"] as Decoded | null;
      files.set(f["id"] as number, reg ? String(reg["name"]) : pipe ? `pipe:[${pipe["pipe_id"] as number}]` : (FD_TYPES[f["type"] as number] ?? `type ${f["type"] as number}`));
    }
  }

  const entries = decodeEntries(pstreeBytes, "pstree.img", PSTREE_MAGIC, "criu.PstreeEntry");
  const tasks = await Promise.all(
    entries.map(async (e): Promise<DumpedTask> => {
      const pid = e["pid"] as number;
      const [idsBytes, coreBytes] = await Promise.all([image(dir, `ids-${pid}.img`), image(dir, `core-${pid}.img`)]);
      const ids = idsBytes === null ? null : idsOf(decodeEntries(idsBytes, `ids-${pid}.img`, IDS_MAGIC, "criu.TaskKobjIdsEntry")[0]);
      const core = coreBytes === null ? null : decodeEntries(coreBytes, `core-${pid}.img`, CORE_MAGIC, "criu.CoreEntry")[0];
      const tc = (core?.["tc"] ?? null) as Decoded | null;
      const task: DumpedTask = {
        pid,
        ppid: e["ppid"] as number,
        pgid: e["pgid"] as number,
        sid: e["sid"] as number,
        threads: (e["threads"] as number[]) ?? [],
        command: tc ? String(tc["comm"]) : "",
        state: tc ? (STATES[tc["task_state"] as number] ?? "unknown") : "unknown",
        ids,
        memory: null,
        files: [],
      };
      if (details) {
        task.memory = await memoryOf(dir, pid);
        const fdinfoName = fdinfoPerId && ids ? `fdinfo-${ids.filesId}.img` : `fdinfo-${pid}.img`;
        const fdinfo = await image(dir, fdinfoName);
        task.files = (fdinfo === null ? [] : decodeEntries(fdinfo, fdinfoName, FDINFO_MAGIC, "criu.FdinfoEntry"))
          .map((d) => ({ fd: d["fd"] as number, type: FD_TYPES[d["type"] as number] ?? `type ${d["type"] as number}`, target: files.get(d["id"] as number) ?? "" }))
          .sort((a, b) => a.fd - b.fd);
      }
      return task;
    }),
  );

  const timensName = await timensImageName(dir);
  const timens = await readTimensImage(dir);
  const uptime = inventory?.["dump_uptime"];
  return {
    tasks: tasks.sort((a, b) => a.pid - b.pid),
    // PID 1's own ids (the inventory's root_ids name CRIU's namespaces, not PID 1's).
    rootTimeNsId: tasks.find((t) => t.ppid === 0)?.ids?.timeNsId ?? null,
    timens: timens === null || timensName === null ? null : { imageName: timensName, ...timens },
    dumpUptimeNs: typeof uptime === "string" && uptime !== "0" ? BigInt(uptime) * 1000n : null,
    stats: await readDumpStats(dir).catch(() => null),
  };
}

async function memoryOf(dir: string, pid: number): Promise<MemorySummary | null> {
  const [mmBytes, pagemapBytes] = await Promise.all([image(dir, `mm-${pid}.img`), image(dir, `pagemap-${pid}.img`)]);
  if (mmBytes === null && pagemapBytes === null) return null;
  const summary: MemorySummary = { pagesWritten: 0, areas: 0, mappedBytes: 0, fileAreas: 0, anonymousAreas: 0 };
  if (mmBytes !== null) {
    const vmas = (decodeEntries(mmBytes, `mm-${pid}.img`, MM_MAGIC, "criu.MmEntry")[0]?.["vmas"] ?? []) as Decoded[];
    for (const vma of vmas) {
      const status = vma["status"] as number;
      summary.areas++;
      summary.mappedBytes += Number(BigInt(vma["end"] as string) - BigInt(vma["start"] as string));
      if (status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) summary.fileAreas++;
      else if (status & (VMA_ANON_PRIVATE | VMA_ANON_SHARED)) summary.anonymousAreas++;
    }
  }
  if (pagemapBytes !== null) {
    // The first entry is the head (which pages image); the rest are runs of pages.
    const runs = decodeEntries(pagemapBytes, `pagemap-${pid}.img`, PAGEMAP_MAGIC, "criu.PagemapEntry").slice(1);
    for (const run of runs) if (run["in_parent"] !== true) summary.pagesWritten += pagesInRun(run);
  }
  return summary;
}

// The tasks whose time namespace is not PID 1's: a checkpoint with any cannot be
// restored (CRIU: "Can't restore sub-task in NS").
export function tasksOutsideRootTimeNamespace(dump: DumpContents): DumpedTask[] {
  if (dump.rootTimeNsId === null) return [];
  return dump.tasks.filter((t) => t.ids?.timeNsId != null && t.ids.timeNsId !== dump.rootTimeNsId);
}

// Names of image files in `dir`, for callers that list them.
export async function imageNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

// The mode CRIU recorded for the container's root directory (CRIU refuses to restore
// onto a root whose mode differs); null when the images do not say.
export async function recordedRootMode(dir: string): Promise<number | null> {
  const bytes = await image(dir, "files.img");
  if (bytes === null) return null;
  for (const f of decodeEntries(bytes, "files.img", FILES_MAGIC, "criu.FileEntry")) {
    const reg = f["reg"] as Decoded | null;
    if (reg && (reg["name"] === "/" || reg["name"] === ".") && typeof reg["mode"] === "number" && reg["mode"] !== 0) return reg["mode"];
  }
  return null;
}

// The pages of one pagemap run: CRIU >= 4.2 writes the 64-bit count (pages) and leaves
// nr_pages 0; older CRIUs have only nr_pages.
export function pagesInRun(run: Decoded): number {
  const pages = Number(run["pages"] ?? 0);
  return pages > 0 ? pages : Number(run["nr_pages"] ?? 0);
}
