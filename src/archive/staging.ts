// Where an export or import keeps the checkpoint while it streams: tmpfs when memory
// allows (no disk write at all), else a directory in the store on disk.
import { mkdtemp, readFile, statfs } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { readProcStat } from "../proc/process.ts";

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

// A fresh private directory for one export or import, and how many bytes may be written
// into it (stagingBound); the caller removes it.
export async function createStagingDir(storeRoot: string, purpose: string, expectedBytes: number | null): Promise<{ dir: string; where: "tmpfs" | "disk"; maxBytes: number }> {
  const memory = await memAvailableBytes();
  const where = chooseStaging({ memAvailableBytes: memory, tmpfsFreeBytes: await tmpfsFreeBytes(), expectedBytes });
  const parent = where === "tmpfs" ? TMPFS_DIR : join(storeRoot, "staging");
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(parent, await stagingPrefix(storeRoot, purpose)));
  const fs = await statfs(dir);
  return { dir, where, maxBytes: stagingBound({ where, freeBytes: fs.bavail * fs.bsize, memAvailableBytes: memory, configuredMaxBytes: configuredStagingMax() }) };
}

// The parents of staging directories: tmpfs (shared by every ckpt root on the host) and
// the root's own.
export function stagingParents(storeRoot: string): { tmpfs: string; disk: string } {
  return { tmpfs: TMPFS_DIR, disk: join(storeRoot, "staging") };
}

// A staging directory's name says whose it is: ckpt-PURPOSE-ROOTTAG-PID-STARTTICKS-XXXXXX,
// the root (a hash of its path: tmpfs is shared by every root) and the process that made it
// (its PID and start time, so that a reused PID does not count). `prune` removes only its
// own root's staging whose process is gone.
async function stagingPrefix(storeRoot: string, purpose: string): Promise<string> {
  const started = await readProcStat(process.pid).then((s) => s.startTimeTicks, () => 0n);
  return `ckpt-${purpose}-${stagingRootTag(storeRoot)}-${process.pid}-${started}-`;
}

export function stagingRootTag(storeRoot: string): string {
  return createHash("sha256").update(resolve(storeRoot)).digest("hex").slice(0, 12);
}

export interface StagingName {
  purpose: "import" | "export";
  // Null for a name from before staging names said whose they are.
  rootTag: string | null;
  pid: number | null;
  startTimeTicks: bigint | null;
}

// Pure: what a staging directory's name says, or null when it is not one.
export function parseStagingName(name: string): StagingName | null {
  const owned = /^ckpt-(import|export)-([0-9a-f]{12})-(\d+)-(\d+)-[A-Za-z0-9]{6}$/.exec(name);
  if (owned !== null) return { purpose: owned[1] as "import" | "export", rootTag: owned[2]!, pid: Number(owned[3]), startTimeTicks: BigInt(owned[4]!) };
  const legacy = /^ckpt-(import|export)-[A-Za-z0-9]{6}$/.exec(name);
  return legacy === null ? null : { purpose: legacy[1] as "import" | "export", rootTag: null, pid: null, startTimeTicks: null };
}

// What is kept free beside staging: the host must go on working while an archive unpacks.
export const STAGING_RESERVE_BYTES = 512 * 1024 ** 2;

// Pure: how many bytes an archive may expand to in staging. Never more than the free
// space there minus the reserve; on tmpfs (memory) never more than the available memory
// minus the reserve either; never more than the operator's CKPT_STAGING_MAX_BYTES.
export function stagingBound(facts: { where: "tmpfs" | "disk"; freeBytes: number; memAvailableBytes: number; configuredMaxBytes: number | null }): number {
  const room = [facts.freeBytes - STAGING_RESERVE_BYTES, ...(facts.where === "tmpfs" ? [facts.memAvailableBytes - STAGING_RESERVE_BYTES] : []), ...(facts.configuredMaxBytes === null ? [] : [facts.configuredMaxBytes])];
  return Math.max(0, Math.min(...room));
}

// CKPT_STAGING_MAX_BYTES: a bound of the operator's on what one archive may expand to.
function configuredStagingMax(): number | null {
  const text = process.env["CKPT_STAGING_MAX_BYTES"];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : null;
}

// At most this many entries in one archive (a checkpoint has a few hundred; 300,000
// empty ones made a reader spend 14 s and 869 MB): CKPT_MAX_ARCHIVE_ENTRIES.
export function maxArchiveEntries(): number {
  const text = process.env["CKPT_MAX_ARCHIVE_ENTRIES"];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : 100_000;
}

// At most this many bytes of metadata in one archive: its entries' paths and link targets
// and its pax and GNU long-name headers, all of which a reader holds or parses (a
// checkpoint has some tens of KiB; 100,000 entries of 1 MiB pax paths would be 100 GB):
// CKPT_MAX_ARCHIVE_METADATA_BYTES.
export function maxArchiveMetadataBytes(): number {
  const text = process.env["CKPT_MAX_ARCHIVE_METADATA_BYTES"];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : 16 * 1024 * 1024;
}
