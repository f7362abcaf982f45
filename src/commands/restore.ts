// `ckpt restore [-n NEW] [--runtime R] [--time-mode auto|host|continue|suspend] NAME|DIR`
import { networkRequest, type NetworkFlags } from "./network-flags.ts";
import { chooseRuntime, runtimeChosen, runtimeSelection } from "../runtimes/choice.ts";
import { oneClockLine } from "../restore/versions.ts";
import { removeContainer } from "../container/remove.ts";
import { formatDurationNs } from "../clock/timespec.ts";
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { humanDuration } from "../output/time.ts";
import { restoreContainer, type RestoreResult } from "../operations/restore.ts";
import { importAndRestore, type ImportResult } from "../operations/import.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { progressDisplay } from "../output/progress.ts";
import { resolve } from "node:path";
import { parsePageServer } from "../migrate/page-server.ts";
import { readFile } from "node:fs/promises";
import { runtimeFor } from "../container/context.ts";
import { criuEvidence } from "../criu/version.ts";
import type { ContainerStore } from "../store/container-store.ts";
import { settleLazyPages } from "../restore/lazy-pages-daemon.ts";
import { dumpOptionNames } from "../criu/dump-options.ts";
import { parseRestartPolicy } from "../restart/policy.ts";
import { recoverContainer } from "../operations/recover.ts";
import { sayRecovered } from "./open-recovered.ts";
import { describeSignature, type SignatureReport } from "../signing/archive-signature.ts";
import { trustedKeys } from "../signing/key-store.ts";

interface RestoreOptions extends GlobalOptions, NetworkFlags {
  allow?: string[];
  spec?: string;
  restart?: string;
  image?: string;
  tlsVerify?: boolean;
  authfile?: string;
  name?: string;
  import?: string;
  verify: boolean;
  rootfs?: string;
  bundle?: string;
  tcpEstablished?: boolean;
  fileLocks?: boolean;
  tcpClose?: boolean;
  pageServer?: string;
  waitForPages?: boolean;
}

export async function restoreCommand(source: string | undefined, options: RestoreOptions): Promise<void> {
  const { settings } = options;
  const common = {
    newName: options.name,
    // Chosen somewhere (flag, environment, file), else the one the container was created
    // with, else the checkpoint's kind.
    runtime: runtimeChosen(runtimeSelection(settings)) ? await chooseRuntime(runtimeSelection(settings)) : undefined,
    runtimePaths: settings.runtimes.value,
    timeMode: settings.timeMode.value,
    // A restore whose log and reads stopped moving this long is ended, and cleaned up.
    progressTimeoutMs: settings.progressTimeout.value,
    // Given flags only (--X true, --no-X false): the checkpoint's options apply otherwise.
    options: Object.fromEntries(dumpOptionNames.filter((n) => options[n] !== undefined).map((n) => [n, options[n]])),
    bundle: options.bundle,
    spec: options.spec === undefined ? undefined : resolve(options.spec),
    restart: options.restart === undefined ? undefined : parseRestartPolicy(options.restart, { initialMs: settings.backoffInitial.value, maxMs: settings.backoffMax.value, resetAfterMs: settings.backoffReset.value }),
    network: networkRequest(options),
    allow: options.allow,
    lazyPagesFrom: options.pageServer === undefined ? undefined : parsePageServer(options.pageServer),
    lockTimeoutMs: options.lockTimeoutMs,
  };
  let result: RestoreResult;
  let imported: ImportResult | undefined;
  // A checkpoint image (--image REF, or a reference as the argument): pulled into an OCI
  // layout here, every digest checked, and its layer imported like an archive.
  let pulled: { release(): Promise<void>; ref: string; manifestDigest: string } | undefined;
  let imageLabel: string | undefined;
  let pulledManifestDigest: string | undefined;
  const { looksLikeImageRef, parseImageRef } = await import("../image/image-ref.ts");
  const imageText = options.image ?? (source !== undefined && looksLikeImageRef(source) ? source : undefined);
  if (imageText !== undefined) {
    if (options.import !== undefined || (options.image !== undefined && source !== undefined)) throw new CkptError(ExitCode.usage, "give one checkpoint: a name, a directory, --import FILE or an image");
    const ref = parseImageRef(imageText);
    if ("error" in ref) throw new CkptError(ExitCode.usage, ref.error);
    const { pullCheckpointImage } = await import("../operations/image.ts");
    const image = await pullCheckpointImage(openStore(options), ref, { tlsVerify: options.tlsVerify !== false, authfile: options.authfile });
    pulled = image;
    options = { ...options, import: image.layerPath };
    imageLabel = `the image ${image.ref} (${image.manifestDigest})`;
    pulledManifestDigest = image.annotations["io.ckpt.checkpoint.manifest.digest"] || undefined;
    source = undefined;
  }
  try {
  if (options.import !== undefined) {
    if (source !== undefined) throw new CkptError(ExitCode.usage, `give either a checkpoint (${source}) or --import ${options.import}, not both`);
    const progress = progressDisplay(options);
    const store = openStore(options);
    let signature: SignatureReport | undefined;
    imported = await importAndRestore(store, {
      ...common,
      archive: options.import,
      label: imageLabel,
      expectedManifestDigest: pulledManifestDigest,
      verify: options.verify,
      rootfsBase: options.rootfs === undefined ? undefined : resolve(options.rootfs),
      trust: await trustedKeys(store.layout, settings.trustedKeys.value),
      ...(progress.listener === undefined ? {} : { onProgress: progress.listener }),
      onSignature: (s) => (signature = s),
    })
      .catch((error: unknown) => {
        // A refusal after the signature was judged (the import policy's) says what it was.
        if (signature !== undefined && signature.status !== "trusted") process.stderr.write(`ckpt: ${describeSignature(signature)}\n`);
        throw error;
      })
      .finally(() => progress.done());
    result = imported.restore;
  } else {
    if (source === undefined) throw new CkptError(ExitCode.usage, "missing the container name or checkpoint directory", { hint: "ckpt restore NAME, ckpt restore DIR, or ckpt restore --import FILE" });
    if (options.rootfs !== undefined) throw new CkptError(ExitCode.usage, "--rootfs goes with --import");
    const store = openStore(options);
    // A container's interrupted operation is finished or undone first, and said.
    for (const name of new Set([source, ...(options.name === undefined ? [] : [options.name])])) if (!source.includes("/")) sayRecovered(await recoverContainer(store, name));
    result = await restoreContainer(store, { ...common, source });
  }
  } finally {
    await pulled?.release();
  }
  for (const w of restoreWarnings(result)) process.stderr.write(`ckpt: warning: ${w}\n`);
  if (imported !== undefined && !imported.verified) process.stderr.write("ckpt: warning: --no-verify: the archive's files were not checked against its manifest\n");
  if (options.json) printJson({ ...toJson(result), ...(pulled === undefined ? {} : { image: { ref: pulled.ref, manifestDigest: pulled.manifestDigest } }), ...(imported === undefined ? {} : { archive: { compression: imported.archive.compression, files: imported.archive.files.length, verified: imported.verified, staging: imported.staging }, signature: signatureJson(imported.signature), phasesNs: imported.phasesNs }) });
  else render(result, options, imported);
  if (options.waitForPages === true && result.lazyPages !== null) await waitForPages(openStore(options), result);
}

// `--wait-for-pages` (what `ckpt migrate --lazy` asks of its target): stay until the
// lazy-pages daemon has every page. A daemon that fails leaves the container with holes
// in its memory: it is removed, and the exit code says so.
async function waitForPages(store: ContainerStore, r: RestoreResult): Promise<void> {
  const lazy = r.lazyPages!;
  const code = await lazy.daemon.finished();
  if (code === 0) {
    // Every page is in the container: the images the daemon read go.
    await settleLazyPages(store.layout, r.record.name);
    return;
  }
  const log = await readFile(lazy.logPath, "utf8").catch(() => "");
  const runtime = runtimeFor(store, r.record.runtime, r.record.runtimePath);
  await runtime.kill(r.record.id, "KILL").catch(() => {});
  await removeContainer(store, r.record, runtime, { tolerateRuntime: true }).catch(() => {});
  throw new CkptError(ExitCode.transferFailed, `the memory of "${r.record.name}" stopped arriving from ${lazy.from} (the lazy-pages daemon ${code === null ? "was killed" : `exited ${code}`}); the container, missing pages, is removed here`, {
    evidence: criuEvidence(log, 6),
  });
}

export function signatureJson(s: SignatureReport) {
  return { status: s.status, fingerprint: s.fingerprint, name: s.name, valid: s.valid };
}

// What the clock plan, the dump options and the CRIU configuration have to say.
export function restoreWarnings(r: RestoreResult): string[] {
  return [...r.versions.warnings, ...r.plan.warnings, ...r.options.warnings, ...r.criuConfig.warnings];
}

export function toJson(r: RestoreResult) {
  return {
    name: r.record.name,
    id: r.record.id,
    runtime: r.record.runtime,
    runtimePath: r.record.runtimePath,
    pid: r.pid,
    // Who dumped it and who restores it; who keeps exec'd processes on PID 1's clock.
    versions: r.versions,
    checkpoint: r.record.restoredFrom ?? r.checkpoint,
    timeMode: r.plan.mode,
    clockPlan: r.plan.kind,
    reason: r.plan.reason,
    timeNamespace: { inode: r.timeNamespace.inode, host: r.timeNamespace.host, offsetsNs: r.timeNamespace.offsets },
    downtimeNs: r.downtimeNs,
    durationNs: r.durationNs,
    // The dump options given to CRIU, each from the checkpoint or a flag.
    options: r.options.applied.map((a) => ({ name: a.name, from: a.from, detail: a.detail })),
    criuConfig: r.criuConfig.report,
    warnings: restoreWarnings(r),
    lazyPages: r.lazyPages === null ? null : { from: r.lazyPages.from, daemonPid: r.lazyPages.daemonPid, logPath: r.lazyPages.logPath },
  };
}

function render(r: RestoreResult, options: GlobalOptions, imported?: ImportResult): void {
  const c = colors(options);
  const ns = r.timeNamespace;
  const lines = [
    `${c.green("restored")} ${c.bold(r.record.name)} in ${humanDuration(r.durationNs)} (PID ${r.pid}, ${r.record.runtime} ${r.versions.restoredBy.runtimeVersion}, CRIU ${r.versions.restoredBy.criuVersion})`,
    `  from:           ${r.record.restoredFrom ?? r.checkpoint}${imported === undefined ? "" : ` (${imported.archive.compression ?? "a stream"}, ${imported.archive.files.length} files, ${imported.verified ? "every SHA-256 verified" : "not verified"})`}`,
    ...(imported === undefined ? [] : [`  signature:      ${describeSignature(imported.signature)}`]),
    `  clocks:         ${r.plan.mode === "auto" ? `auto -> ${r.plan.kind === "host-namespace" ? "host" : "continue"}` : r.plan.mode}: ${r.plan.reason}`,
    `  time namespace: ${ns.host ? "the host's" : `its own (${ns.inode})`}${ns.offsets && !ns.host ? `, offsets monotonic ${formatDurationNs(ns.offsets.monotonicNs)}, boottime ${formatDurationNs(ns.offsets.boottimeNs)}` : ""}`,
    `  downtime:       ${humanDuration(r.downtimeNs)} since the checkpoint`,
    `  CRIU options:   ${r.options.applied.length === 0 ? "none beyond the runtime's" : r.options.applied.map((a) => `${a.name} (from the ${a.from === "flag" ? "command line" : "checkpoint"})`).join(", ")}`,
    ...(r.lazyPages === null ? [] : [`  memory:         arriving on demand from ${r.lazyPages.from} (CRIU lazy-pages daemon, PID ${r.lazyPages.daemonPid}, log ${r.lazyPages.logPath})`]),
    `  ${oneClockLine(r.versions)}`,
    c.dim(`  run commands on its clock with: ckpt exec ${r.record.name} -- CMD`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}
