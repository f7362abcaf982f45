// Checkpoints as OCI images. Creating one is an export (operations/export.ts) into a
// gzip'd tar, which becomes the image's one layer; ckpt writes the OCI layout around it and
// hands any other transport to skopeo. Pulling one copies it into an OCI layout in staging
// (skopeo), checks every digest (image/layout.ts), and gives the layer to the archive
// import, which checks ckpt's manifest and signature and vets the spec like any archive's.
//
// Nothing is lost when a push fails: the checkpoint is then only in the image, so the
// layout is kept in the store (ROOT/images/NAME-STAMP) and the error says where and how to
// push it again.
import { readFileSync } from "node:fs";
import { cp, mkdir, rename, rm } from "node:fs/promises";
import { arch } from "node:os";
import { join, resolve } from "node:path";
import { createStagingDir } from "../archive/staging.ts";
import type { ContainerContext } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { readCgroupFacts } from "../host/cgroups.ts";
import { formatImageRef, type ImageRef } from "../image/image-ref.ts";
import { readImageLayout, writeImageLayout, type ReadImage, type WrittenImage } from "../image/layout.ts";
import { checkpointAnnotations, ociArchitecture, recognisedBy } from "../image/oci-image.ts";
import { skopeoCopy, type TransferOptions } from "../image/skopeo.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { exportCheckpoint, type ExportRequest, type ExportResult } from "./export.ts";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
// The tag ckpt gives an image in a layout of its own (staging, or kept after a failed push).
const STAGED_TAG = "checkpoint";

export interface CreateImageRequest extends Omit<ExportRequest, "destination" | "compression"> {
  ref: ImageRef;
  transfer: TransferOptions;
}

export interface CreateImageResult {
  export: ExportResult;
  ref: string;
  image: WrittenImage;
  annotations: Record<string, string>;
  // The engines whose checkpoint restore would see this image as one.
  recognisedBy: string[];
}

function osRelease(): { name: string; version: string } {
  try {
    const text = readFileSync("/etc/os-release", "utf8");
    const field = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?$`, "m").exec(text)?.[1] ?? "";
    return { name: field("ID"), version: field("VERSION_ID") };
  } catch {
    return { name: "", version: "" };
  }
}

export async function createCheckpointImage(ctx: ContainerContext, request: CreateImageRequest): Promise<CreateImageResult> {
  const staging = await createStagingDir(ctx.store.layout.root, "image", null);
  let keep = false;
  try {
    const layerFile = join(staging.dir, "layer.tar.gz");
    const exported = await exportCheckpoint(ctx, { ...request, destination: layerFile, compression: "gzip" });
    const m = exported.checkpoint.manifest;
    const created = new Date(Number(BigInt(m.checkpointedAtNs) / 1_000_000n)).toISOString();
    const facts = {
      containerName: m.container.name,
      containerId: m.container.id,
      runtime: { name: m.runtime.name, version: m.runtime.version },
      criuVersion: m.criuVersion,
      kernelRelease: m.kernelRelease,
      architecture: ociArchitecture(arch()),
      cgroupsVersion: readCgroupFacts().mode === "unified" ? ("v2" as const) : ("v1" as const),
      distribution: osRelease(),
      ckptVersion: pkg.version,
      rootfsImageName: "",
      rootfsImageId: "",
      manifestDigest: "",
      signer: exported.signedBy?.fingerprint ?? null,
      execJoinedBy: m.timeNamespace.execJoinedBy,
      createdAtRfc3339: created,
    };
    // ckpt's manifest as the archive carries it (with every file's digest), read from the
    // layer while its digests are taken.
    const annotationsOf = (manifestPb: string | null) => checkpointAnnotations({ ...facts, manifestDigest: manifestPb ?? "" });
    const ref = formatImageRef(request.ref);
    // A checkpointed container names where its checkpoint went: the image (restore NAME
    // then says to restore that reference), or the layout kept after a failed push.
    const recordWhere = async (where: string) => {
      if (m.options.leaveRunning) return;
      const record = await ctx.store.get(m.container.name);
      await ctx.store.save({ ...record, checkpointedTo: where });
    };
    let image: WrittenImage;
    if (request.ref.transport === "oci") {
      image = await writeImageLayout(resolve(request.ref.path!), request.ref.tag!, layerFile, facts, annotationsOf);
      await recordWhere(`oci:${resolve(request.ref.path!)}:${request.ref.tag!}`);
    } else {
      const layout = join(staging.dir, "layout");
      image = await writeImageLayout(layout, STAGED_TAG, layerFile, facts, annotationsOf);
      await recordWhere(`oci:${layout}:${STAGED_TAG}`);
      try {
        await skopeoCopy(`oci:${layout}:${STAGED_TAG}`, ref, "push", request.transfer);
        await recordWhere(ref);
      } catch (error) {
        // The container was checkpointed into this image alone: keep it.
        const kept = join(ctx.store.layout.root, "images", `${m.container.name}-${m.checkpointedAtNs}`);
        await mkdir(join(ctx.store.layout.root, "images"), { recursive: true, mode: 0o700 });
        // Staging may be tmpfs: copied across, then the staged copy goes. Should even that
        // fail, the staging directory stays, named in the error.
        await rename(layout, kept).catch(async (e: NodeJS.ErrnoException) => {
          if (e.code !== "EXDEV") throw e;
          await cp(layout, `${kept}.partial`, { recursive: true });
          await rename(`${kept}.partial`, kept);
        }).then(() => recordWhere(`oci:${kept}:${STAGED_TAG}`)).catch((e: unknown) => {
          keep = true;
          throw new CkptError(ExitCode.transferFailed, `${error instanceof Error ? error.message : String(error)}; the checkpoint of "${m.container.name}" is kept in ${layout} (it could not be moved to ${kept}: ${(e as Error).message})`, { hint: `push it with: skopeo copy oci:${layout}:${STAGED_TAG} ${ref}` });
        });
        if (error instanceof CkptError) {
          throw new CkptError(error.exitCode, `${error.message}: the checkpoint of "${m.container.name}" is kept as an OCI layout in ${kept}`, {
            evidence: error.evidence,
            hint: `push it again with: skopeo copy oci:${kept}:${STAGED_TAG} ${ref}; or restore it here with: ckpt restore oci:${kept}:${STAGED_TAG}`,
          });
        }
        throw error;
      }
    }
    return { export: exported, ref, image, annotations: image.annotations, recognisedBy: recognisedBy(image.annotations, m.runtime.name) };
  } finally {
    if (!keep) await rm(staging.dir, { recursive: true, force: true });
  }
}

export interface PulledImage extends ReadImage {
  ref: string;
  release(): Promise<void>;
}

// The image at `ref`, in an OCI layout of this host with every digest checked: an oci:
// layout is read where it is, any other transport is copied by skopeo into staging first.
export async function pullCheckpointImage(store: ContainerStore, ref: ImageRef, transfer: TransferOptions): Promise<PulledImage> {
  const text = formatImageRef(ref);
  if (ref.transport === "oci") {
    const read = await readImageLayout(resolve(ref.path!), ref.tag!);
    return { ...read, ref: text, release: async () => {} };
  }
  const staging = await createStagingDir(store.layout.root, "image", null);
  const release = () => rm(staging.dir, { recursive: true, force: true });
  try {
    const layout = join(staging.dir, "layout");
    await skopeoCopy(text, `oci:${layout}:${STAGED_TAG}`, "pull", transfer);
    return { ...(await readImageLayout(layout, STAGED_TAG)), ref: text, release };
  } catch (error) {
    await release();
    throw error;
  }
}
