// The checkpoint manifest: what ckpt records with every checkpoint. The binary form is
// schemas/manifest.proto (manifest.pb); manifest.json is its proto3-JSON mirror (int64 as
// decimal strings, camelCase names), validated here.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";

export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_JSON = "manifest.json";
export const MANIFEST_PB = "manifest.pb";

const int64 = z.string().regex(/^-?\d+$/, "an integer in a string");
const uint = z.number().int().nonnegative();
const offsets = z.object({ monotonicNs: int64, boottimeNs: int64 });

export const ManifestSchema = z.object({
  formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
  container: z.object({ name: z.string(), id: z.string(), sourceBundle: z.string(), rootfs: z.string() }),
  runtime: z.object({ name: z.enum(["runc", "crun"]), version: z.string(), path: z.string() }),
  criuVersion: z.string(),
  kernelRelease: z.string(),
  hostname: z.string(),
  bootId: z.string(),
  checkpointedAtNs: int64,
  timeNamespace: z.object({
    kernelSupport: z.boolean(),
    declared: z.boolean(),
    declaredOffsets: offsets,
    pid1Inode: uint,
    pid1Offsets: offsets,
    pid1InHostNamespace: z.boolean(),
    dumpedMonotonicNs: int64,
    dumpedBoottimeNs: int64,
    host: z.object({ realtimeNs: int64, monotonicNs: int64, boottimeNs: int64 }),
    // Who kept exec'd processes in PID 1's time namespace on the runtime that ran it
    // (runtimes/runtime.ts oneClockKeeper); "" in manifests from before it was recorded.
    execJoinedBy: z.enum(["", "runtime", "ckpt"]).default(""),
  }),
  criuStats: z.object({
    freezingTimeUs: uint,
    frozenTimeUs: uint,
    memdumpTimeUs: uint,
    memwriteTimeUs: uint,
    pagesScanned: uint,
    pagesWritten: uint,
  }),
  // The dump's CRIU options that its restore needs again (tcpClose: absent before ckpt had it).
  options: z.object({ leaveRunning: z.boolean(), tcpEstablished: z.boolean(), fileLocks: z.boolean(), tcpClose: z.boolean().default(false) }),
  tasks: z.array(z.object({ pid: uint, ppid: uint, command: z.string(), timeNamespaceInode: uint })),
  imagesBytes: uint,
  files: z.array(z.object({ path: z.string(), size: uint, sha256: z.string().regex(/^[0-9a-f]{64}$/) })).default([]),
  rootfsInArchive: z.enum(["", "full", "none"]).default(""),
  // Set for a lazy (post-copy) dump: the page server that holds the memory.
  lazyPagesFrom: z.string().default(""),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ArchiveFileDigest = z.infer<typeof ManifestSchema>["files"][number];

let root: protobuf.Root | undefined;
function manifestType(): protobuf.Type {
  root ??= protobuf.loadSync(fileURLToPath(new URL("../../schemas/manifest.proto", import.meta.url)));
  return root.lookupType("ckpt.Manifest");
}

export function encodeManifest(manifest: Manifest): Uint8Array {
  const type = manifestType();
  return type.encode(type.fromObject(manifest)).finish();
}

export function decodeManifest(bytes: Uint8Array): Manifest {
  const type = manifestType();
  const object = type.toObject(type.decode(bytes), { longs: String, defaults: true, arrays: true, objects: true });
  return ManifestSchema.parse(object);
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  ManifestSchema.parse(manifest);
  await writeFileAtomic(join(dir, MANIFEST_PB), encodeManifest(manifest), 0o600);
  await writeFileAtomic(join(dir, MANIFEST_JSON), `${JSON.stringify(manifest, null, 2)}\n`, 0o600);
}

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_JSON), "utf8");
  } catch {
    throw new CkptError(ExitCode.badCheckpoint, `${dir} has no ${MANIFEST_JSON}: it is not a ckpt checkpoint`, {
      hint: "give a checkpoint directory made by ckpt checkpoint, or a container name (`ckpt checkpoints` lists them)",
    });
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CkptError(ExitCode.badCheckpoint, `the manifest in ${dir} is damaged: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}
