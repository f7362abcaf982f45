// `ckpt restore --import`: unpack the archive into a staging directory, verify every file
// against the manifest and the manifest against its signature, and only then restore.
// The archive itself is only read; the staging directory is removed whatever happens.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { unpackArchive, verifyUnpacked } from "../archive/import-checkpoint.ts";
import { MANIFEST_PB } from "../checkpoint/manifest.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { ProgressListener } from "../archive/progress.ts";
import type { ReadArchiveResult } from "../archive/read-archive.ts";
import { judgeArchiveSignature, refuseInvalidSignature, type SignatureReport } from "../signing/archive-signature.ts";
import type { TrustedKey } from "../signing/key-store.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { restoreContainer, type RestoreRequest, type RestoreResult } from "./restore.ts";

// trustedSigner is never the caller's to give: only a signature checked here sets it.
export interface ImportRequest extends Omit<RestoreRequest, "source" | "imported" | "trustedSigner"> {
  // A file path, or "-" for standard input.
  archive: string;
  // What the restore names it by, instead of the archive's path (an image's reference).
  label?: string | undefined;
  // The digest of manifest.pb an image's annotation claims (io.ckpt.checkpoint.manifest.digest):
  // the layer must carry that manifest, or the image was altered under ckpt's annotations.
  expectedManifestDigest?: string | undefined;
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

export async function importAndRestore(store: ContainerStore, request: ImportRequest): Promise<ImportResult> {
  const started = process.hrtime.bigint();
  const unpacked = await unpackArchive(store.layout.root, request.archive, request.onProgress === undefined ? {} : { onProgress: request.onProgress });
  const unpackedAt = process.hrtime.bigint();
  try {
    if (request.verify) verifyUnpacked(unpacked.read, request.label ?? unpacked.label);
    if (request.expectedManifestDigest !== undefined) await checkManifestDigest(join(unpacked.dir, MANIFEST_PB), request.expectedManifestDigest, request.label ?? unpacked.label);
    // Only with every file checked against the manifest does its signature vouch for them.
    const signature = await judgeArchiveSignature(unpacked.dir, request.trust, request.verify);
    refuseInvalidSignature(signature, request.label ?? unpacked.label);
    request.onSignature?.(signature);
    const trustedSigner = signature.status === "trusted" && signature.fingerprint !== null ? { fingerprint: signature.fingerprint, name: signature.name ?? signature.fingerprint } : undefined;
    const { trust: _trust, onSignature: _onSignature, expectedManifestDigest: _expected, ...restoreRequest } = request;
    // Set last, whatever the request held: only the signature decides.
    const restore = await restoreContainer(store, { ...restoreRequest, source: unpacked.dir, imported: { label: request.label ?? unpacked.label, rootfsBase: request.rootfsBase }, trustedSigner });
    return { restore, archive: unpacked.read, verified: request.verify, signature, staging: unpacked.staging, phasesNs: { unpack: unpackedAt - started, restore: process.hrtime.bigint() - unpackedAt } };
  } finally {
    await unpacked.remove();
  }
}

async function checkManifestDigest(path: string, expected: string, label: string): Promise<void> {
  const actual = `sha256:${createHash("sha256").update(await readFile(path).catch(() => Buffer.alloc(0))).digest("hex")}`;
  if (actual !== expected) {
    throw new CkptError(ExitCode.badCheckpoint, `${label} says its checkpoint manifest is ${expected}, but its layer carries ${actual}`, { hint: "the image was altered after ckpt made it: do not restore it" });
  }
}
