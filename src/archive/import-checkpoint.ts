// Unpacking an archive into a staging directory (tmpfs when memory allows) and verifying
// every file against its manifest: what restore --import (operations/import.ts), inspect
// and repair read archives with. The archive itself is only read.
import { existsSync, rmSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { isatty } from "node:tty";
import { CkptError, ExitCode } from "../errors.ts";
import { compareDigests, describeProblem, readArchive, type ArchiveInput, type ReadArchiveOptions, type ReadArchiveResult } from "./read-archive.ts";
import { createStagingDir, maxArchiveEntries, maxArchiveMetadataBytes } from "./staging.ts";

export interface UnpackedArchive {
  dir: string;
  label: string;
  read: ReadArchiveResult;
  staging: "tmpfs" | "disk";
  remove(): Promise<void>;
}

// Unpacks an archive into a fresh staging directory; the caller calls remove().
export async function unpackArchive(storeRoot: string, archive: string, options: ReadArchiveOptions = {}): Promise<UnpackedArchive> {
  let input: ArchiveInput;
  let label: string;
  let size: number | null = null;
  if (archive === "-") {
    // Not process.stdin: that stream would make the pipe non-blocking for zstd, which reads it.
    if (isatty(0)) throw new CkptError(ExitCode.usage, "refusing to read a checkpoint archive from a terminal", { hint: "pipe it in: ... | ckpt restore --import -" });
    input = { fd: 0 };
    label = "the archive on standard input";
  } else {
    label = resolve(archive);
    if (!existsSync(label)) throw new CkptError(ExitCode.notFound, `${label} does not exist`, { hint: "give the archive `ckpt checkpoint --export` or `podman container checkpoint --export` wrote" });
    size = (await stat(label)).size;
    input = { path: label };
  }
  // Compressed archives of checkpoints expand about two to four times.
  const staging = await createStagingDir(storeRoot, "import", size === null ? null : size * 4);
  // Also when ckpt ends without reaching its cleanup (a migration's target whose output
  // pipe closed dies on EPIPE): an import's staging holds nothing that is not in the archive.
  const onExit = () => rmSync(staging.dir, { recursive: true, force: true });
  process.on("exit", onExit);
  const remove = async () => {
    process.off("exit", onExit);
    await rm(staging.dir, { recursive: true, force: true });
  };
  try {
    const read = await readArchive(input, staging.dir, label, { ...options, totalBytes: options.totalBytes ?? null, maxBytes: staging.maxBytes, maxEntries: maxArchiveEntries(), maxMetadataBytes: maxArchiveMetadataBytes() });
    return { dir: staging.dir, label, read, staging: staging.where, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

// Pure check, separate so tests can call it: the archive's files against its manifest.
export function verifyUnpacked(read: ReadArchiveResult, label: string): void {
  if (read.manifest === null) {
    throw new CkptError(ExitCode.badCheckpoint, `${label} has no ckpt manifest (podman and CRI-O archives do not): its files cannot be verified`, {
      hint: "to restore it without verification, add --no-verify",
    });
  }
  const problems = compareDigests(read.manifest.files, read.files);
  if (problems.length > 0) {
    throw new CkptError(ExitCode.badCheckpoint, `${label} failed verification: ${describeProblem(problems[0]!)}`, {
      evidence: problems.slice(1, 10).map(describeProblem),
      hint: "the archive was altered or damaged in transit; nothing was restored. Export it again, or add --no-verify to restore it anyway",
    });
  }
}
