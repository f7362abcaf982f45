// `ckpt inspect`: what a checkpoint holds, from ckpt's manifest where there is one and
// from CRIU's images always. Works on ckpt, podman and CRI-O checkpoints, as archives or
// directories, and on bare directories of CRIU images. Pure data; commands/inspect.ts
// renders it.
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { Manifest } from "../checkpoint/manifest.ts";
import { readDumpContents, tasksOutsideRootTimeNamespace, type DumpedTask } from "../criu/dump-contents.ts";
import { readDumpStats, type DumpStats } from "../criu/images.ts";
import { unpackArchive } from "../archive/import-checkpoint.ts";
import { compareFound, describeProblem } from "../archive/read-archive.ts";
import { checkpointKind, openCheckpointSource, type CheckpointKind, type CheckpointSource } from "../restore/checkpoint-source.ts";
import { resolveCheckpoint } from "../restore/resolve-checkpoint.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { isBindMount, readOciSpec, type OciSpec } from "../oci/spec.ts";
import { vetImportedSpec, type PolicyContext } from "../restore/spec-policy.ts";
import { readHardLimits } from "../host/process-limits.ts";
import { NetworkConfigSchema } from "../store/network-config.ts";
import { CheckpointFiles } from "../checkpoint/checkpoint-dir.ts";
import { ENGINE_USERDATA } from "../restore/imported-rootfs.ts";
import { judgeArchiveSignature, type SignatureReport } from "../signing/archive-signature.ts";
import type { TrustedKey } from "../signing/key-store.ts";
import { DEFAULT_ENTRY_LIMITS } from "../archive/entry-safety.ts";
import { SIGNATURE_ENTRY } from "../signing/signature.ts";

export interface InspectReport {
  source: {
    path: string;
    kind: CheckpointKind;
    archive: { compression: string | null; files: number; integrity: "verified" | "mismatch" | "no-manifest"; problems: string[]; signature: SignatureReport } | null;
  };
  container: { name: string; id: string; runtime: string; runtimeVersion: string; criuVersion: string; kernelRelease: string; hostname: string; bootId: string; checkpointedAtNs: bigint; image: string | null } | null;
  timeNamespace: {
    // From ckpt's manifest (null when another tool made the checkpoint).
    declared: boolean | null;
    pid1InHostNamespace: boolean | null;
    // Who kept exec'd processes in PID 1's namespace while it ran: "runtime", "ckpt", or
    // null when not recorded (another tool's checkpoint, or ckpt's before it recorded it).
    execJoinedBy: "runtime" | "ckpt" | null;
    pid1OffsetsNs: { monotonic: bigint; boottime: bigint } | null;
    hostClocksAtDumpNs: { realtime: bigint; monotonic: bigint; boottime: bigint } | null;
    // From the images.
    dumpedClocksNs: { monotonic: bigint; boottime: bigint } | null;
    rootNamespaceId: number | null;
    tasks: { pid: number; command: string; namespaceId: number | null }[];
    consistent: boolean;
    warning: string | null;
  };
  processes: {
    pid: number;
    ppid: number;
    pgid: number;
    sid: number;
    command: string;
    state: string;
    threads: number;
    memory: { pagesWritten: number; bytesWritten: number; areas: number; mappedBytes: number; fileAreas: number; anonymousAreas: number } | null;
    files: { fd: number; type: string; target: string }[];
  }[];
  criuStats: DumpStats | null;
  // What the checkpoint's spec asks of a host, and what a restore --import refuses unless
  // allowed (restore/spec-policy.ts); null without a spec (bare CRIU images).
  spec: {
    args: string[];
    envNames: string[];
    hooks: string[];
    bindMounts: { destination: string; source: string }[];
    capabilities: string[];
    namespaces: { type: string; path: string | null }[];
    devices: number;
    restart: string | null;
    refusedOnImport: { kind: string; detail: string }[];
  } | null;
}

const PAGE = 4096;
const MAX_PROBLEMS_SHOWN = 100;

// What inspect reads of an archive: the top-level metadata and images (a bare image
// directory's), CRIU's images but their pages, the statistics. Everything else (the pages,
// the root filesystem's tar, whatever else an archive carries) is read past and hashed,
// never written: inspect streams an archive, holding one short digest string per file.
export function inspectReads(path: string): boolean {
  const parts = path.split("/");
  const name = parts[parts.length - 1] ?? "";
  if (/^pages-\d+\.img$/.test(name)) return false;
  if (parts.length === 1) return name.endsWith(".img") || name === SIGNATURE_ENTRY || DEFAULT_ENTRY_LIMITS.metadataFiles.has(name);
  return parts.length === 2 && ["checkpoint", "images", "work"].includes(parts[0]!) && (name.endsWith(".img") || name === "stats-dump");
}

// `trust`: the keys this host trusts (signing/key-store.ts), for the archive's signature.
export async function inspectCheckpoint(store: ContainerStore, target: string, trust: ReadonlyMap<string, TrustedKey> = new Map()): Promise<InspectReport> {
  const isFile = existsSync(target) && (await stat(target)).isFile();
  if (isFile || target === "-") {
    // The root filesystem is not unpacked to be inspected; whether the archive carries one is noted.
    let carriesRootfs = false;
    const skip = (path: string) => {
      if (path === CheckpointFiles.rootfsDiff) carriesRootfs = true;
      return !inspectReads(path);
    };
    const unpacked = await unpackArchive(store.layout.root, target, { skip, listFiles: false });
    try {
      const found = unpacked.read.manifest === null ? [] : compareFound(unpacked.read.manifest.files, unpacked.read.found);
      // The first problems, not one line per entry of a hostile archive.
      const problems = [...found.slice(0, MAX_PROBLEMS_SHOWN).map(describeProblem), ...(found.length > MAX_PROBLEMS_SHOWN ? [`and ${found.length - MAX_PROBLEMS_SHOWN} more`] : [])];
      const integrity = unpacked.read.manifest === null ? "no-manifest" : problems.length === 0 ? "verified" : "mismatch";
      const signature = await judgeArchiveSignature(unpacked.dir, trust, integrity === "verified");
      return await inspectDirectory(unpacked.dir, unpacked.label, { compression: unpacked.read.compression, files: unpacked.read.fileCount, integrity, problems, signature }, carriesRootfs);
    } finally {
      await unpacked.remove();
    }
  }
  const dir = checkpointKind(target) !== null ? target : await resolveCheckpoint(store, target);
  return inspectDirectory(dir, dir, null, existsSync(join(dir, CheckpointFiles.rootfsDiff)));
}

async function inspectDirectory(dir: string, label: string, archive: InspectReport["source"]["archive"], carriesRootfs: boolean): Promise<InspectReport> {
  const kind = checkpointKind(dir);
  // A bare image directory has no spec; inspect does not need one.
  const source = kind === "criu-images" ? null : await openCheckpointSource(dir);
  const imagesDir = source?.imagesDir ?? dir;
  const dump = await readDumpContents(imagesDir);
  const manifest: Manifest | null = source?.kind === "ckpt" ? source.manifest : null;
  const engine = source?.engineConfig ?? null;
  const stats = (await readDumpStats(dir).catch(() => null)) ?? dump.stats ?? (await readDumpStats(join(dir, "work")).catch(() => null));
  const outside = tasksOutsideRootTimeNamespace(dump);
  const t = manifest?.timeNamespace;
  return {
    source: { path: label, kind: kind ?? "criu-images", archive },
    container:
      source === null
        ? null
        : {
            name: source.manifest.container.name,
            id: source.manifest.container.id,
            runtime: manifest?.runtime.name ?? (typeof engine?.["ociRuntime"] === "string" ? engine["ociRuntime"] : ""),
            runtimeVersion: manifest?.runtime.version ?? "",
            criuVersion: manifest?.criuVersion ?? "",
            kernelRelease: manifest?.kernelRelease ?? "",
            hostname: manifest?.hostname ?? "",
            bootId: manifest?.bootId ?? "",
            checkpointedAtNs: BigInt(source.manifest.checkpointedAtNs),
            image: typeof engine?.["rootfsImageName"] === "string" ? engine["rootfsImageName"] : null,
          },
    timeNamespace: {
      declared: t?.declared ?? null,
      pid1InHostNamespace: t?.pid1InHostNamespace ?? null,
      execJoinedBy: t === undefined || t.execJoinedBy === "" ? null : t.execJoinedBy,
      pid1OffsetsNs: t ? { monotonic: BigInt(t.pid1Offsets.monotonicNs), boottime: BigInt(t.pid1Offsets.boottimeNs) } : null,
      hostClocksAtDumpNs: t ? { realtime: BigInt(t.host.realtimeNs), monotonic: BigInt(t.host.monotonicNs), boottime: BigInt(t.host.boottimeNs) } : null,
      dumpedClocksNs: dump.timens === null ? null : { monotonic: dump.timens.monotonicNs, boottime: dump.timens.boottimeNs },
      rootNamespaceId: dump.rootTimeNsId,
      tasks: dump.tasks.map((task) => ({ pid: task.pid, command: task.command, namespaceId: task.ids?.timeNsId ?? null })),
      consistent: outside.length === 0,
      warning:
        outside.length === 0
          ? null
          : `${outside.length} task(s) (${outside.map((o) => `PID ${o.pid} ${o.command}`).join(", ")}) are not in PID 1's time namespace: CRIU cannot restore this checkpoint; \`ckpt repair --unify-timens\` makes a restorable copy`,
    },
    processes: dump.tasks.map(processOf),
    criuStats: stats,
    spec: source === null ? null : specView(await readOciSpec(source.specPath), engine, importPolicyContext(source, carriesRootfs)),
  };
}

// The security-relevant part of a spec, and the import policy's findings on it (an
// engine's userdata mounts excepted: an import gives them ckpt's stand-ins).
function specView(spec: OciSpec, engine: Record<string, unknown> | null, context: Partial<PolicyContext>): NonNullable<InspectReport["spec"]> {
  const loose = spec as OciSpec & { process: { env?: string[]; capabilities?: { bounding?: string[] } }; linux?: { devices?: unknown[] } };
  const binds = (spec.mounts ?? []).filter(isBindMount);
  const restart = engine?.["restart"] as { policy?: string; maxRetries?: number | null } | undefined;
  const findings = vetImportedSpec(spec, context);
  return {
    args: spec.process.args,
    envNames: (loose.process.env ?? []).map((e) => e.split("=")[0] ?? "").sort(),
    hooks: findings.filter((f) => f.kind === "hooks").map((f) => f.detail),
    bindMounts: binds.map((m) => ({ destination: m.destination, source: m.source ?? "" })),
    capabilities: [...(loose.process.capabilities?.bounding ?? [])].sort(),
    namespaces: (spec.linux?.namespaces ?? []).map((ns) => ({ type: ns.type, path: ns.path ?? null })),
    devices: loose.linux?.devices?.length ?? 0,
    restart: restart?.policy === undefined || restart.policy === "no" ? null : `${restart.policy}${restart.maxRetries ? `:${restart.maxRetries}` : ""}`,
    refusedOnImport: findings.filter((f) => !(f.kind === "mounts" && ENGINE_USERDATA.test(f.detail))),
  };
}

// The facts restore --import would weigh the spec with, as far as the checkpoint tells.
function importPolicyContext(source: CheckpointSource, carriesRootfs: boolean): Partial<PolicyContext> {
  return {
    networkManaged: source.kind === "ckpt" && NetworkConfigSchema.safeParse(source.engineConfig?.["network"]).success,
    recordedNetwork: source.kind === "ckpt" ? NetworkConfigSchema.safeParse(source.engineConfig?.["network"]).data : undefined,
    engineConfinesByDefault: source.kind === "podman",
    hostRlimits: readHardLimits(),
    rootfsUnpacked: source.manifest.rootfsInArchive === "full" || carriesRootfs,
  };
}

function processOf(task: DumpedTask): InspectReport["processes"][number] {
  return {
    pid: task.pid,
    ppid: task.ppid,
    pgid: task.pgid,
    sid: task.sid,
    command: task.command,
    state: task.state,
    threads: task.threads.length,
    memory: task.memory === null ? null : { ...task.memory, bytesWritten: task.memory.pagesWritten * PAGE },
    files: task.files,
  };
}
