// What a checkpoint directory is and what ckpt knows about it: its own (manifest.json),
// one podman or CRI-O made (config.dump and spec.dump beside checkpoint/), or a bare
// directory of CRIU images (as `runc checkpoint` writes, needing a bundle for its spec).
// For the last two, the manifest is pieced together from the images.
import { existsSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CheckpointFiles, imagesDirOf } from "../checkpoint/checkpoint-dir.ts";
import { MANIFEST_JSON, readManifest, type Manifest } from "../checkpoint/manifest.ts";
import { readDumpContents, type DumpContents } from "../criu/dump-contents.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { readOciSpec, type OciSpec } from "../oci/spec.ts";
import type { RuntimeName } from "../runtimes/runtime.ts";
import { newContainerId } from "../store/names.ts";

export type CheckpointKind = "ckpt" | "podman" | "criu-images";

export interface CheckpointSource {
  kind: CheckpointKind;
  dir: string;
  imagesDir: string;
  manifest: Manifest;
  // Where the spec comes from: spec.dump, or the bundle given for bare images.
  specPath: string;
  // The container record the engine that made it kept (config.dump: podman's, or ckpt's),
  // when present.
  engineConfig: Record<string, unknown> | null;
}

export function checkpointKind(dir: string): CheckpointKind | null {
  if (existsSync(join(dir, MANIFEST_JSON))) return "ckpt";
  if (existsSync(join(dir, CheckpointFiles.images, "inventory.img"))) return "podman";
  if (existsSync(join(dir, "inventory.img"))) return "criu-images";
  return null;
}

// `spec` (the operator's --spec FILE) or `bundle` (--bundle DIR: its config.json) replace
// the spec the checkpoint carries.
export async function openCheckpointSource(dir: string, options: { bundle?: string | undefined; spec?: string | undefined; runtime?: RuntimeName | undefined } = {}): Promise<CheckpointSource> {
  const kind = checkpointKind(dir);
  if (kind === null) {
    throw new CkptError(ExitCode.badCheckpoint, `${dir} is not a checkpoint: it has neither ckpt's manifest.json, a checkpoint/ folder of CRIU images, nor inventory.img`, {
      hint: "give a directory made by ckpt checkpoint, podman or CRI-O, a directory of CRIU images, or an archive with --import",
    });
  }
  const imagesDir = kind === "criu-images" ? dir : imagesDirOf(dir);
  const specPath = options.spec !== undefined ? resolve(options.spec) : options.bundle !== undefined ? join(options.bundle, "config.json") : join(dir, CheckpointFiles.spec);
  const engineConfig = await readFile(join(dir, CheckpointFiles.config), "utf8")
    .then((t) => JSON.parse(t) as Record<string, unknown>)
    .catch(() => null);
  if (kind === "ckpt") return { kind, dir, imagesDir, manifest: await readManifest(dir), specPath, engineConfig };
  if (!existsSync(specPath)) {
    throw new CkptError(ExitCode.usage, `${dir} holds CRIU images without the container's OCI spec`, { hint: "give the bundle the container ran from with --bundle DIR (its config.json)" });
  }
  const spec = await readOciSpec(specPath);
  const dump = await readDumpContents(imagesDir, { details: false });
  const dumpedAt = await stat(join(imagesDir, "inventory.img"));
  return { kind, dir, imagesDir, manifest: foreignManifest(spec, dump, engineConfig, options.runtime ?? "runc", BigInt(Math.round(dumpedAt.mtimeMs)) * 1_000_000n), specPath, engineConfig };
}

// Pure: the manifest of a checkpoint another tool made, as far as its images tell. The
// host's clocks at the dump are unknown (the inventory's write time stands in for
// realtime), and so is its boot: the clock planner treats it as another boot.
export function foreignManifest(spec: OciSpec, dump: DumpContents, config: Record<string, unknown> | null, runtime: RuntimeName, dumpedAtNs: bigint): Manifest {
  const name = typeof config?.["name"] === "string" ? config["name"] : "restored";
  const id = typeof config?.["id"] === "string" && /^[0-9a-f]{64}$/.test(config["id"]) ? config["id"] : newContainerId();
  const ownNamespace = (spec.linux?.namespaces ?? []).some((ns) => ns.type === "time");
  return {
    formatVersion: 1,
    container: { name, id, sourceBundle: "", rootfs: spec.root.path },
    runtime: { name: runtime, version: "", path: "" },
    criuVersion: "",
    kernelRelease: "",
    hostname: "",
    bootId: "",
    checkpointedAtNs: String(dumpedAtNs),
    timeNamespace: {
      kernelSupport: true,
      declared: ownNamespace,
      declaredOffsets: { monotonicNs: "0", boottimeNs: "0" },
      pid1Inode: 0,
      pid1Offsets: { monotonicNs: "0", boottimeNs: "0" },
      // Unknown: assume the container had a clock of its own, so no mode moves it back.
      pid1InHostNamespace: false,
      execJoinedBy: "",
      dumpedMonotonicNs: String(dump.timens?.monotonicNs ?? 0n),
      dumpedBoottimeNs: String(dump.timens?.boottimeNs ?? 0n),
      host: { realtimeNs: String(dumpedAtNs), monotonicNs: "0", boottimeNs: String(dump.dumpUptimeNs ?? 0n) },
    },
    criuStats: { freezingTimeUs: 0, frozenTimeUs: 0, memdumpTimeUs: 0, memwriteTimeUs: 0, pagesScanned: 0, pagesWritten: 0 },
    // What the images hold is read at restore (restore-options.ts).
    options: { leaveRunning: false, tcpEstablished: false, fileLocks: false, tcpClose: false },
    tasks: dump.tasks.map((t) => ({ pid: t.pid, ppid: t.ppid, command: t.command, timeNamespaceInode: 0 })),
    imagesBytes: 0,
    files: [],
    rootfsInArchive: "",
    lazyPagesFrom: "",
  };
}
