// Where an export or import keeps the checkpoint while it streams: tmpfs when memory
// allows (no disk write at all), else a directory in the store on disk.
import { mkdtemp, readFile, statfs } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";

const TMPFS_MAGIC = 0x01021994;
const GiB = 1024 ** 3;

export interface StagingFacts {
  memAvailableBytes: number;
  tmpfsFreeBytes: number | null;
  // The checkpoint's expected size; null when unknown (an archive read from a pipe).
  expectedBytes: number | null;
}

// Pure: tmpfs when the checkpoint fits twice over in available memory (the restored
// container needs the memory again) with 512 MiB to spare; when the size is unknown,
// when at least 4 GiB are available.
export function chooseStaging(facts: StagingFacts): "tmpfs" | "disk" {
  if (facts.tmpfsFreeBytes === null) return "disk";
  if (facts.expectedBytes === null) return facts.memAvailableBytes >= 4 * GiB && facts.tmpfsFreeBytes >= 4 * GiB ? "tmpfs" : "disk";
  const fits = facts.expectedBytes * 2 + 512 * 1024 ** 2 <= facts.memAvailableBytes && facts.expectedBytes <= facts.tmpfsFreeBytes;
  return fits ? "tmpfs" : "disk";
}

export async function memAvailableBytes(): Promise<number> {
  const text = await readFile("/proc/meminfo", "utf8");
  const kib = /^MemAvailable:\s+(\d+) kB/m.exec(text)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

const TMPFS_DIR = "/dev/shm";

async function tmpfsFreeBytes(): Promise<number | null> {
  const s = await statfs(TMPFS_DIR).catch(() => null);
  return s !== null && s.type === TMPFS_MAGIC ? s.bavail * s.bsize : null;
}

// A fresh private directory for one export or import; the caller removes it.
export async function createStagingDir(storeRoot: string, purpose: string, expectedBytes: number | null): Promise<{ dir: string; where: "tmpfs" | "disk" }> {
  const where = chooseStaging({ memAvailableBytes: await memAvailableBytes(), tmpfsFreeBytes: await tmpfsFreeBytes(), expectedBytes });
  const parent = where === "tmpfs" ? TMPFS_DIR : join(storeRoot, "staging");
  await mkdir(parent, { recursive: true, mode: 0o700 });
  return { dir: await mkdtemp(join(parent, `ckpt-${purpose}-`)), where };
}
