// `ckpt restore --import`: unpack the archive into a staging directory (tmpfs when
// memory allows), verify every file against the manifest, and only then restore. The
// archive itself is only read; the staging directory is removed whatever happens.
import { existsSync } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { isatty } from "node:tty";
import { CkptError, ExitCode } from "../errors.ts";
import { restoreContainer, type RestoreRequest, type RestoreResult } from "../restore/restore.ts";
import type { ContainerStore } from "../store/container-store.ts";
import type { ProgressListener } from "./progress.ts";
import { compareDigests, describeProblem, readArchive, type ArchiveInput, type ReadArchiveOptions, type ReadArchiveResult } from "./read-archive.ts";
import { createStagingDir, maxArchiveEntries, maxArchiveMetadataBytes } from "./staging.ts";
import { judgeArchiveSignature, refuseInvalidSignature, type SignatureReport } from "../signing/archive-signature.ts";
import type { TrustedKey } from "../signing/key-store.ts";

// trustedSigner is never the caller's to give: only a signature checked here sets it.
export interface ImportRequest extends Omit<RestoreRequest, "source" | "imported" | "trustedSigner"> {
  // A file path, or "-" for standard input.
  archive: string;
  verify: boolean;
  rootfsBase: string | undefined;
  // The keys this host trusts (signing/key-store.ts), by fingerprint.
  trust: ReadonlyMap<string, TrustedKey>;
  onProgress?: ProgressListener;
  // Told what the signature makes of the archive, once checked and before the restore.
  onSignature?: (report: SignatureReport) => void;
}

export interface ImportResult {
  restore: RestoreResult;
  archive: ReadArchiveResult;
  verified: boolean;
  signature: SignatureReport;
  staging: "tmpfs" | "disk";
  // Where the time went: unpacking (decompress, judge, hash, write), then the restore.
  phasesNs: { unpack: bigint; restore: bigint };
}

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
  const remove = () => rm(staging.dir, { recursive: true, force: true });
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

export async function importAndRestore(store: ContainerStore, request: ImportRequest): Promise<ImportResult> {
  const started = process.hrtime.bigint();
  const unpacked = await unpackArchive(store.layout.root, request.archive, request.onProgress === undefined ? {} : { onProgress: request.onProgress });
  const unpackedAt = process.hrtime.bigint();
  try {
    if (request.verify) verifyUnpacked(unpacked.read, unpacked.label);
    // Only with every file checked against the manifest does its signature vouch for them.
    const signature = await judgeArchiveSignature(unpacked.dir, request.trust, request.verify);
    refuseInvalidSignature(signature, unpacked.label);
    request.onSignature?.(signature);
    const trustedSigner = signature.status === "trusted" && signature.fingerprint !== null ? { fingerprint: signature.fingerprint, name: signature.name ?? signature.fingerprint } : undefined;
    const { trust: _trust, onSignature: _onSignature, ...restoreRequest } = request;
    // Set last, whatever the request held: only the signature decides.
    const restore = await restoreContainer(store, { ...restoreRequest, source: unpacked.dir, imported: { label: unpacked.label, rootfsBase: request.rootfsBase }, trustedSigner });
    return { restore, archive: unpacked.read, verified: request.verify, signature, staging: unpacked.staging, phasesNs: { unpack: unpackedAt - started, restore: process.hrtime.bigint() - unpackedAt } };
  } finally {
    await unpacked.remove();
  }
}
