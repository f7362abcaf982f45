// `ckpt checkpoint [-R] [--tcp-established] [--file-locks] [--keep] [--allow-process-loss] NAME...`
import { openRecovered } from "./open-recovered.ts";
import { checkpointContainer, type CheckpointResult } from "../operations/checkpoint.ts";
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
import { openStore } from "../container/context.ts";

interface CheckpointOptions extends GlobalOptions {
  export?: string;
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
  if (typeof options.sign === "string" && options.export === undefined) throw new CkptError(ExitCode.usage, "--sign goes with --export: only archives are signed");
  const destination = options.export;
  if (destination !== undefined) {
    if (names.length !== 1) throw new CkptError(ExitCode.usage, "--export takes one container", { hint: "export each container to its own archive" });
    const progress = progressDisplay(options);
    // Loaded only for exports: a plain checkpoint starts sooner without the archive code.
    const { exportCheckpoint } = await import("../operations/export.ts");
    const { selectSigningKey } = await import("../signing/key-store.ts");
    // The container's lock for the whole export (and the restore a failed one makes).
    const result = await withContainerLock(openStore(options).layout, names[0]!, { timeoutMs: options.lockTimeoutMs }, async () => {
      const ctx = await openRecovered(options, names[0]!);
      // Chosen before anything is dumped: a missing key costs nothing.
      const signer = await selectSigningKey(ctx.store.layout, options.sign);
      return exportCheckpoint(ctx, {
        ...request,
        signer: signer ?? undefined,
        destination,
        compression: options.settings.compress.value,
        ignoreRootfs: options.ignoreRootfs === true,
        ...(progress.listener === undefined ? {} : { onProgress: progress.listener }),
      });
    }).finally(() => progress.done());
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

function render(r: CheckpointResult, options: GlobalOptions, write: (text: string) => void, exported?: ExportResult): void {
  const c = colors(options);
  const m = r.manifest;
  const t = m.timeNamespace;
  const mib = (m.imagesBytes / 1048576).toFixed(1);
  const lines = [
    `${c.green("checkpointed")} ${c.bold(r.name)} in ${humanDuration(r.durationNs)} (${mib} MiB, ${m.tasks.length} process${m.tasks.length === 1 ? "" : "es"}, frozen ${(m.criuStats.frozenTimeUs / 1000).toFixed(0)} ms)`,
    exported === undefined
      ? `  checkpoint:     ${r.dir}`
      : `  archive:        ${exported.destination === "-" ? "standard output" : exported.destination} (${exported.compression}, ${exported.archiveBytes === null ? `${(exported.tarBytes / 1048576).toFixed(1)} MiB of tar` : `${(exported.archiveBytes / 1048576).toFixed(1)} MiB`}, ${exported.files} files with SHA-256 in its manifest; staged on ${exported.staging}; ${humanDuration(exported.durationNs)} in all)`,
    ...(exported === undefined ? [] : [`  signature:      ${exported.signedBy === null ? "none (unsigned: a receiver treats it as foreign; ckpt keys generate makes this host a key)" : `signed by ${exported.signedBy.name} (${exported.signedBy.fingerprint})`}`]),
    `  time namespace: ${t.pid1InHostNamespace ? "the host's" : `its own (${t.pid1Inode}), offsets monotonic ${formatDurationNs(BigInt(t.pid1Offsets.monotonicNs))}, boottime ${formatDurationNs(BigInt(t.pid1Offsets.boottimeNs))}`}; all ${m.tasks.length} task(s) in it`,
    `  clocks at dump: monotonic ${formatDurationNs(BigInt(t.dumpedMonotonicNs))}, boottime ${formatDurationNs(BigInt(t.dumpedBoottimeNs))}`,
  ];
  const dumpOptions = dumpOptionNames.filter((n) => m.options[n]).map((n) => criuOptionName[n]);
  if (dumpOptions.length > 0) lines.push(`  CRIU options:   ${dumpOptions.join(", ")} (its restores use them too)`);
  for (const lost of r.lostTasks) lines.push(c.yellow(`  not in the checkpoint (--allow-process-loss): PID ${lost.pid} ${lost.command}`));
  const back = exported === undefined ? `ckpt restore ${r.name}` : `ckpt restore --import ${exported.destination === "-" ? "-" : exported.destination}`;
  lines.push(m.options.leaveRunning ? "  the container keeps running" : `  the container is stopped; bring it back with: ${back}`);
  write(`${lines.join("\n")}\n`);
}
