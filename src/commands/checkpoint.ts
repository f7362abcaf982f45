// `ckpt checkpoint [-R] [--tcp-established] [--file-locks] [--keep] [--allow-process-loss] NAME...`
import { openRecovered } from "./open-recovered.ts";
import { checkpointContainer, type CheckpointRequest, type CheckpointResult } from "../operations/checkpoint.ts";
import { formatDurationNs } from "../clock/timespec.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson, toJson as toJsonText } from "../output/json.ts";
import type { ExportResult } from "../operations/export.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { progressDisplay } from "../output/progress.ts";
import { humanDuration, timestamp } from "../output/time.ts";
import { criuOptionName, dumpOptionNames } from "../criu/dump-options.ts";
import { withContainerLock } from "../store/locks.ts";
import { openStore, type ContainerContext } from "../container/context.ts";
import type { ProgressListener } from "../archive/progress.ts";
import type { SigningKey } from "../signing/signature.ts";

interface CheckpointOptions extends GlobalOptions {
  export?: string;
  createImage?: string;
  tlsVerify?: boolean;
  authfile?: string;
  ignoreRootfs?: boolean;
  leaveRunning?: boolean;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  tcpClose?: boolean;
  keep?: boolean;
  allowProcessLoss?: boolean;
  retain?: string;
  // --sign NAME, --no-sign (false), or neither.
  sign?: string | false;
}

export async function checkpointCommand(names: string[], options: CheckpointOptions): Promise<void> {
  const request = {
    // A dump whose log and images stopped growing this long is ended, and the container thawed.
    progressTimeoutMs: options.settings.progressTimeout.value,
    leaveRunning: options.leaveRunning === true,
    tcpEstablished: options.tcpEstablished === true,
    fileLocks: options.fileLocks === true,
    tcpClose: options.tcpClose === true,
    keep: options.keep === true,
    allowProcessLoss: options.allowProcessLoss === true,
  };
  if (typeof options.sign === "string" && options.export === undefined && options.createImage === undefined) throw new CkptError(ExitCode.usage, "--sign goes with --export or --create-image: only archives and images are signed");
  if (options.createImage !== undefined) return createImageCommand(names, options, request);
  const destination = options.export;
  if (destination !== undefined) {
    if (names.length !== 1) throw new CkptError(ExitCode.usage, "--export takes one container", { hint: "export each container to its own archive" });
    // Loaded only for exports: a plain checkpoint starts sooner without the archive code.
    const { exportCheckpoint } = await import("../operations/export.ts");
    const result = await exportLocked(names[0]!, options, request, (ctx, exportRequest) =>
      exportCheckpoint(ctx, { ...exportRequest, destination, compression: options.settings.compress.value }),
    );
    // With --export -, standard output carries the archive: the report goes to stderr.
    const write = (text: string) => (result.destination === "-" ? process.stderr : process.stdout).write(text);
    for (const w of result.checkpoint.criuConfig.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
    if (options.json) write(`${toJsonText([exportJson(result)])}\n`);
    else {
      render(result.checkpoint, options, write, result);
    }
    return;
  }
  const results: CheckpointResult[] = [];
  for (const name of names) {
    if (!options.json && names.length > 1) process.stderr.write(`checkpointing ${name}...\n`);
    const result = await withContainerLock(openStore(options).layout, name, { timeoutMs: options.lockTimeoutMs }, async () => checkpointContainer(await openRecovered(options, name), request));
    results.push(result);
    for (const w of result.criuConfig.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
    // The retain setting: the newest checkpoints stay, older ones go (checkpoint/prune.ts).
    const { applyRetention } = await import("../checkpoint/prune.ts");
    const retention = await applyRetention(openStore(options), [name], options.settings.retain.value);
    for (const w of retention.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
    if (!options.json && retention.removed.length > 0) process.stderr.write(`retain ${String(options.settings.retain.value)}: removed ${retention.removed.join(", ")}\n`);
    if (!options.json) render(result, options, (t) => process.stdout.write(t));
  }
  if (options.json) printJson(results.map(toJson));
}

export function toJson(r: CheckpointResult) {
  const t = r.manifest.timeNamespace;
  return {
    name: r.name,
    checkpoint: r.dir,
    checkpointedAt: timestamp(BigInt(r.manifest.checkpointedAtNs)),
    durationNs: r.durationNs,
    imagesBytes: r.manifest.imagesBytes,
    leftRunning: r.manifest.options.leaveRunning,
    // The dump's CRIU options as they were in effect (flags and the operator's CRIU
    // configuration); its restores give CRIU the same.
    options: { tcpEstablished: r.manifest.options.tcpEstablished, fileLocks: r.manifest.options.fileLocks, tcpClose: r.manifest.options.tcpClose },
    criuConfig: r.criuConfig.report,
    warnings: r.criuConfig.warnings,
    timeNamespace: {
      pid1Inode: t.pid1Inode,
      pid1InHostNamespace: t.pid1InHostNamespace,
      declared: t.declared,
      pid1OffsetsNs: { monotonic: BigInt(t.pid1Offsets.monotonicNs), boottime: BigInt(t.pid1Offsets.boottimeNs) },
      dumpedClocksNs: { monotonic: BigInt(t.dumpedMonotonicNs), boottime: BigInt(t.dumpedBoottimeNs) },
      hostClocksNs: { realtime: BigInt(t.host.realtimeNs), monotonic: BigInt(t.host.monotonicNs), boottime: BigInt(t.host.boottimeNs) },
    },
    tasks: r.manifest.tasks,
    lostTasks: r.lostTasks,
    criuStats: r.manifest.criuStats,
  };
}

export function exportJson(e: ExportResult) {
  return {
    ...toJson(e.checkpoint),
    checkpoint: null,
    archive: { path: e.destination, compression: e.compression, bytes: e.archiveBytes, tarBytes: e.tarBytes, files: e.files, staging: e.staging, signedBy: e.signedBy },
    durationNs: e.durationNs,
    phasesNs: e.phasesNs,
  };
}

// `image`: the export was an image's layer; the image is named instead of the file.
function render(r: CheckpointResult, options: GlobalOptions, write: (text: string) => void, exported?: ExportResult, image?: string): void {
  const c = colors(options);
  const m = r.manifest;
  const t = m.timeNamespace;
  const mib = (m.imagesBytes / 1048576).toFixed(1);
  const lines = [
    `${c.green("checkpointed")} ${c.bold(r.name)} in ${humanDuration(r.durationNs)} (${mib} MiB, ${m.tasks.length} process${m.tasks.length === 1 ? "" : "es"}, frozen ${(m.criuStats.frozenTimeUs / 1000).toFixed(0)} ms)`,
    exported === undefined
      ? `  checkpoint:     ${r.dir}`
      : `  ${image === undefined ? "archive:  " : "image:    "}      ${image ?? (exported.destination === "-" ? "standard output" : exported.destination)} (${exported.compression}, ${exported.archiveBytes === null ? `${(exported.tarBytes / 1048576).toFixed(1)} MiB of tar` : `${(exported.archiveBytes / 1048576).toFixed(1)} MiB`}, ${exported.files} files with SHA-256 in its manifest; staged on ${exported.staging}; ${humanDuration(exported.durationNs)} in all)`,
    ...(exported === undefined ? [] : [`  signature:      ${exported.signedBy === null ? "none (unsigned: a receiver treats it as foreign; ckpt keys generate makes this host a key)" : `signed by ${exported.signedBy.name} (${exported.signedBy.fingerprint})`}`]),
    `  time namespace: ${t.pid1InHostNamespace ? "the host's" : `its own (${t.pid1Inode}), offsets monotonic ${formatDurationNs(BigInt(t.pid1Offsets.monotonicNs))}, boottime ${formatDurationNs(BigInt(t.pid1Offsets.boottimeNs))}`}; all ${m.tasks.length} task(s) in it`,
    `  clocks at dump: monotonic ${formatDurationNs(BigInt(t.dumpedMonotonicNs))}, boottime ${formatDurationNs(BigInt(t.dumpedBoottimeNs))}`,
  ];
  const dumpOptions = dumpOptionNames.filter((n) => m.options[n]).map((n) => criuOptionName[n]);
  if (dumpOptions.length > 0) lines.push(`  CRIU options:   ${dumpOptions.join(", ")} (its restores use them too)`);
  for (const lost of r.lostTasks) lines.push(c.yellow(`  not in the checkpoint (--allow-process-loss): PID ${lost.pid} ${lost.command}`));
  const back = image !== undefined ? `ckpt restore ${image}` : exported === undefined ? `ckpt restore ${r.name}` : `ckpt restore --import ${exported.destination === "-" ? "-" : exported.destination}`;
  lines.push(m.options.leaveRunning ? "  the container keeps running" : `  the container is stopped; bring it back with: ${back}`);
  write(`${lines.join("\n")}\n`);
}

// `checkpoint --create-image REF NAME`: the checkpoint as an OCI image (operations/image.ts).
async function createImageCommand(names: string[], options: CheckpointOptions, request: CheckpointRequest): Promise<void> {
  if (names.length !== 1) throw new CkptError(ExitCode.usage, "--create-image takes one container", { hint: "make an image of each container in its own run" });
  if (options.export !== undefined) throw new CkptError(ExitCode.usage, "give --export or --create-image, not both (yet)", { hint: "the image's layer is an archive: ckpt restore reads images too" });
  const { parseImageRef } = await import("../image/image-ref.ts");
  const ref = parseImageRef(options.createImage!);
  if ("error" in ref) throw new CkptError(ExitCode.usage, `--create-image ${ref.error}`);
  const { createCheckpointImage } = await import("../operations/image.ts");
  const result = await exportLocked(names[0]!, options, request, (ctx, exportRequest) =>
    createCheckpointImage(ctx, { ...exportRequest, ref, transfer: { tlsVerify: options.tlsVerify !== false, authfile: options.authfile } }),
  );
  for (const w of result.export.checkpoint.criuConfig.warnings) process.stderr.write(`ckpt: warning: ${w}\n`);
  const image = { ref: result.ref, manifestDigest: result.image.manifest.digest, layer: result.image.layer, recognisedBy: result.recognisedBy, annotations: result.annotations };
  if (options.json) {
    process.stdout.write(`${toJsonText([{ ...exportJson(result.export), image }])}\n`);
    return;
  }
  render(result.export.checkpoint, options, (t) => process.stdout.write(t), result.export, result.ref);
  process.stdout.write(`  image manifest: ${result.image.manifest.digest}; one tar+gzip layer of ${(result.image.layer.size / 1048576).toFixed(1)} MiB; seen as a checkpoint by ${result.recognisedBy.join(", ")}\n`);
}

// An export of `name`, to an archive or an image: under the container's lock for the whole
// export (and the restore a failed one makes), after its recovery, with the signing key
// chosen before anything is dumped (a missing key costs nothing) and progress shown.
async function exportLocked<T>(name: string, options: CheckpointOptions, request: CheckpointRequest, run: (ctx: ContainerContext, exportRequest: CheckpointRequest & { signer: SigningKey | undefined; ignoreRootfs: boolean; onProgress?: ProgressListener }) => Promise<T>): Promise<T> {
  const progress = progressDisplay(options);
  const { selectSigningKey } = await import("../signing/key-store.ts");
  return withContainerLock(openStore(options).layout, name, { timeoutMs: options.lockTimeoutMs }, async () => {
    const ctx = await openRecovered(options, name);
    const signer = await selectSigningKey(ctx.store.layout, options.sign);
    return run(ctx, { ...request, signer: signer ?? undefined, ignoreRootfs: options.ignoreRootfs === true, ...(progress.listener === undefined ? {} : { onProgress: progress.listener }) });
  }).finally(() => progress.done());
}
