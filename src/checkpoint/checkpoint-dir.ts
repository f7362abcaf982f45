// The files of one checkpoint directory. ckpt uses the layout podman and CRI-O give
// their checkpoint archives (names as checkpointctl knows them), so a directory and an
// archive hold the same tree and either tool's checkpoint reads the same way:
//
//   checkpoint/        CRIU's images
//   spec.dump          the OCI spec the container ran with
//   config.dump        the engine's container record (podman's, or ckpt's)
//   stats-dump         CRIU's dump statistics
//   dump.log           CRIU's dump log
//   rootfs-diff.tar    the root filesystem (ckpt: all of it; podman: changes to its image)
//   deleted.files      JSON list of paths deleted from the image (podman)
//   network.status     the engine's network state (podman)
//   devshm-checkpoint.tar  podman's /dev/shm contents
//   manifest.json, manifest.pb  ckpt's manifest (ckpt checkpoints only)
//   bundle-criu.conf   the bundle's own CRIU configuration (ckpt, when the bundle had one)
import { existsSync } from "node:fs";
import { join } from "node:path";

export const CheckpointFiles = {
  images: "checkpoint",
  spec: "spec.dump",
  config: "config.dump",
  stats: "stats-dump",
  dumpLog: "dump.log",
  rootfsDiff: "rootfs-diff.tar",
  deletedFiles: "deleted.files",
  networkStatus: "network.status",
  devShm: "devshm-checkpoint.tar",
  bundleCriuConfig: "bundle-criu.conf",
} as const;

// Checkpoints ckpt wrote before it took podman's layout keep their images in images/.
const LEGACY_IMAGES = "images";

// Where a checkpoint directory keeps its CRIU images.
export function imagesDirOf(checkpointDir: string): string {
  const legacy = join(checkpointDir, LEGACY_IMAGES);
  return !existsSync(join(checkpointDir, CheckpointFiles.images)) && existsSync(legacy) ? legacy : join(checkpointDir, CheckpointFiles.images);
}

// Whether CRIU finished the dump in `dir` (it writes its statistics last).
export function holdsCompleteDump(dir: string): boolean {
  return (existsSync(join(dir, "work", "stats-dump")) || existsSync(join(dir, CheckpointFiles.stats))) && existsSync(join(dir, CheckpointFiles.images, "inventory.img"));
}
