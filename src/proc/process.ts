// Facts about one host process read from /proc.
import { readdir, readFile, readlink } from "node:fs/promises";

// The fields of /proc/PID/stat ckpt uses. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
export function parseProcStat(text: string): { ppid: number; state: string; startTimeTicks: bigint } {
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state), rest[1] field 4 (ppid), rest[19] field 22 (starttime).
  return { state: rest[0]!, ppid: Number(rest[1]), startTimeTicks: BigInt(rest[19]!) };
}

export async function readProcStat(pid: number): Promise<{ ppid: number; state: string; startTimeTicks: bigint }> {
  return parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
}

// Whether the process a PID and start time were recorded for still runs: the PID alive,
// not a zombie, and started then (a later process that got the same PID does not count).
export async function isSameProcess(pid: number, startTimeTicks: bigint | string): Promise<boolean> {
  const stat = await readProcStat(pid).catch(() => null);
  return stat !== null && stat.state !== "Z" && String(stat.startTimeTicks) === String(startTimeTicks);
}

// The command line as one string ("[name]" for kernel threads or a zombie).
export async function readCommandLine(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  if (raw !== "") return raw.replace(/\0+$/, "").split("\0").join(" ");
  const comm = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?");
  return `[${comm.trim()}]`;
}

// The inode of a namespace link, e.g. "time:[4026531834]" -> 4026531834.
export function namespaceInode(link: string): number {
  const m = /:\[(\d+)\]$/.exec(link);
  if (!m) throw new Error(`not a namespace link: ${link}`);
  return Number(m[1]);
}

export async function readTimeNamespace(pid: number | "self"): Promise<number> {
  return namespaceInode(await readlink(`/proc/${pid}/ns/time`));
}

// /proc/PID/timens_offsets, or null when the kernel has no time namespaces.
export async function readTimensOffsetsText(pid: number): Promise<string | null> {
  return readFile(`/proc/${pid}/timens_offsets`, "utf8").catch(() => null);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

// Whether `pid` is alive and still the program a recorded PID stood for: its command line
// has each of `words` (a PID reused by another program does not count).
export async function runsCommand(pid: number, words: string[]): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const argv = (await readCommandLine(pid)).split(" ");
  return words.every((w) => argv.includes(w));
}

// Resident memory of a process in bytes (VmRSS), 0 when it is gone.
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

// SIGKILLs each PID in order (callers list a tree's deepest first); one already gone is skipped.
export function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

// Every descendant of `pid` (children first found through /proc), deepest last.
export async function descendants(pid: number): Promise<number[]> {
  const entries = (await readdir("/proc").catch(() => [] as string[])).filter((n) => /^\d+$/.test(n));
  const parentOf = new Map<number, number>();
  await Promise.all(
    entries.map(async (n) => {
      const stat = await readFile(`/proc/${n}/stat`, "utf8").catch(() => null);
      if (stat !== null) parentOf.set(Number(n), parseProcStat(stat).ppid);
    }),
  );
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, ppid] of parentOf) if (ppid === parent) (out.push(child), queue.push(child));
  }
  return out;
}
