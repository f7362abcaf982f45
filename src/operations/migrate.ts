// `ckpt migrate NAME --to TARGET`: the archive streams from the checkpoint straight into
// `TARGET restore --import -` (TARGET runs ckpt on the other host: `ssh host ckpt`, or
// `ip netns exec B ckpt --root /b`), through a FIFO, so no file is written on either side
// beyond the staging the export and the import already do. The source is removed only
// once the target says the container runs; if anything fails, the source is restored
// from its staged images: never both gone.
import { refuseUnallowedSpec, vetImportedSpec } from "../restore/spec-policy.ts";
import { readOciSpec } from "../oci/spec.ts";
import { readHardLimits } from "../host/process-limits.ts";
import { formatRestartPolicy } from "../restart/policy.ts";
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { abandonLazyDump, exportCheckpoint, type ExportResult } from "./export.ts";
import { thawIfPaused, type ContainerContext } from "../container/context.ts";
import { watchCriu } from "../criu/criu-watchdog.ts";
import type { LazyCheckpoint } from "../runtimes/runtime-cli.ts";
import { formatPageServer, type PageServerAddress } from "../migrate/page-server.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { restoreContainer } from "./restore.ts";
import { holdRestarts } from "../restart/restart-state.ts";
import type { Compression } from "../archive/compression.ts";
import { criuOptionName, dumpOptionNames } from "../criu/dump-options.ts";
import { removeContainer } from "../container/remove.ts";
import { refuseUnfitTarget } from "../migrate/target-check.ts";
import { raiseNetwork } from "../network/container-network.ts";
import { beginIntent, type IntentHandle } from "./intent.ts";
import { readProcStat } from "../proc/process.ts";
import type { SigningKey } from "../signing/signature.ts";

export interface MigrateRequest {
  target: string;
  tcpEstablished: boolean;
  fileLocks: boolean;
  tcpClose?: boolean;
  // What the target may take from the spec that an import refuses unasked (--allow).
  allow?: readonly string[];
  allowProcessLoss: boolean;
  // How the stream is compressed; and whether the target has the root filesystem already.
  compression: Compression;
  ignoreRootfs: boolean;
  // Post-copy: the source's address the target fetches the memory from.
  lazy?: PageServerAddress;
  // End a page transfer (post-copy) that has not moved for this long (ms).
  progressTimeoutMs?: number;
  // Signs the stream's manifest; the target restores a checkpoint signed by a key it
  // trusts with its own spec and restart policy.
  signer?: SigningKey | null;
}

export interface MigrateResult {
  name: string;
  target: string;
  export: ExportResult;
  // What the target's `restore --import - --json` printed.
  restored: Record<string, unknown>;
  // Whether the target said, before the freeze, that it trusts the signing key.
  targetTrustsSigner: boolean;
  // From the dump (the container frozen) to the target reporting it running.
  downtimeNs: bigint;
  durationNs: bigint;
  // Post-copy: from the target running the container to its last page having moved.
  pageTransferNs: bigint | null;
}

export async function migrateContainer(ctx: ContainerContext, request: MigrateRequest): Promise<MigrateResult> {
  const started = process.hrtime.bigint();
  const signer = request.signer ?? undefined;
  const { trustsSigner } = await refuseUnfitTarget(request.target, { name: ctx.record.name, ...(ctx.record.network ? { network: ctx.record.network } : {}), ...(signer === undefined ? {} : { signer: signer.fingerprint }) });
  // The target restores an import: unless it trusts this host's signature, what its
  // policy would refuse is refused here, before anything is frozen. --ignore-rootfs: the
  // operator says the target has the root filesystem at its path.
  const allow = [...(request.allow ?? []), ...(request.ignoreRootfs ? ["rootfs"] : [])];
  if (!trustsSigner) {
    const spec = await readOciSpec(join(ctx.store.layout.bundleDir(ctx.record.name), "config.json"));
    const why = signer === undefined ? "the stream would be unsigned" : `the target does not trust this host's key ${signer.name} (${signer.fingerprint})`;
    const howToTrust = signer === undefined ? "" : ` have the target trust this host's key (ckpt keys export ${signer.name} | TARGET keys trust -), or`;
    const findings = vetImportedSpec(spec, { networkManaged: ctx.record.network !== undefined, hostRlimits: readHardLimits(), rootfsUnpacked: !request.ignoreRootfs, recordedNetwork: ctx.record.network });
    refuseUnallowedSpec(findings, allow, `the target would refuse "${ctx.record.name}": its spec asks what an imported checkpoint does not get unasked, and ${why}; nothing was frozen`, `if the target may have them,${howToTrust} say so:`);
  }
  // Its owner in its name, like staging's: recovery removes the scratch of a killed migration.
  const scratch = await mkdtemp(join(tmpdir(), `ckpt-migrate-${process.pid}-${(await readProcStat(process.pid)).startTimeTicks}-`));
  const fifo = join(scratch, "archive");
  await execa("mkfifo", ["-m", "600", fifo]);
  // The shell opens the FIFO for the target; it blocks until ckpt opens the other end.
  // Post-copy: the target stays until its last page has arrived, and says whether it did.
  // The target takes the dump's options from the archive's manifest; the flags say the
  // same to a target whose ckpt predates that.
  const dumpFlags = dumpOptionNames.filter((n) => request[n] === true).map((n) => ` --${criuOptionName[n]}`).join("");
  // The operator's restart policy goes on with the container (the target does not honour
  // one an unsigned archive carries).
  const restart = ctx.record.restart.policy === "no" ? "" : ` --restart ${formatRestartPolicy(ctx.record.restart)}`;
  const restoreArgs = `restore --import - --json${dumpFlags}${allow.map((k) => ` --allow ${k}`).join("")}${restart}${request.lazy ? " --wait-for-pages" : ""}`;
  const target = spawn("sh", ["-c", `exec ${request.target} ${restoreArgs} < "$CKPT_FIFO"`], { env: { ...process.env, CKPT_FIFO: fifo }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  // The target's JSON report, complete, means the container runs there.
  let reportedRunning: (atNs: bigint) => void = () => {};
  const running = new Promise<bigint>((resolve) => (reportedRunning = resolve));
  target.stdout.on("data", (c: Buffer) => {
    stdout += c.toString();
    if (parsesAsJson(stdout)) reportedRunning(BigInt(Date.now()) * 1_000_000n);
  });
  target.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; atNs: bigint }>((resolve) => target.on("close", (code) => resolve({ code, atNs: BigInt(Date.now()) * 1_000_000n })));
  let exported: ExportResult | undefined;
  let intent: IntentHandle | undefined;
  // Whether the archive is all out: a later failure is not the pipe's.
  let sent = false;
  try {
    let opened = false;
    const opening = open(fifo, "w").then((handle) => {
      opened = true;
      return handle;
    });
    const writer = await Promise.race([
      opening,
      exited.then(async (e) => {
        // Opened first: the export finds out through its writes.
        if (opened) return new Promise<never>(() => {});
        // The target is gone before reading: open the FIFO's read end ourselves so the
        // pending open for writing returns, and close both.
        const reader = await open(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
        await (await opening).close();
        await reader.close();
        throw targetFailure(request.target, e.code, stderr);
      }),
    ]);
    // The migration's intent record: killed mid-way, the source's staged checkpoint is
    // moved into the store by recovery, which says the target may have started it too.
    intent = await beginIntent(ctx.store.layout, ctx.record.name, "migrate", { leaveRunning: request.lazy !== undefined });
    try {
      exported = await exportCheckpoint(ctx, {
        intent,
        destination: { fd: writer.fd, label: `${request.target} (stream)` },
        compression: request.compression,
        ignoreRootfs: request.ignoreRootfs,
        retainStaging: true,
        // Post-copy: CRIU 4.1.1's page server takes a closed connection for the end of the
        // transfer, so a target that dies mid-way would otherwise make it end the source
        // too. Left running, the source is ended by ckpt only once the target confirms.
        leaveRunning: request.lazy !== undefined,
        tcpEstablished: request.tcpEstablished,
        fileLocks: request.fileLocks,
        tcpClose: request.tcpClose === true,
        keep: false,
        allowProcessLoss: request.allowProcessLoss,
        signer,
        ...(request.lazy ? { lazyPages: { pageServer: formatPageServer(request.lazy) } } : {}),
      });
    } finally {
      await writer.close();
    }
    sent = true;
    const pageServer = exported.checkpoint.pageServer;
    const first = await Promise.race([running.then((atNs) => ({ runningAtNs: atNs })), exited]);
    if ("code" in first && first.code !== 0) throw targetFailure(request.target, first.code, stderr);
    const runningAtNs = "runningAtNs" in first ? first.runningAtNs : first.atNs;
    let restored: Record<string, unknown>;
    try {
      restored = JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new CkptError(ExitCode.transferFailed, `the target said it restored "${ctx.record.name}" but printed no JSON`, { evidence: [stdout.slice(0, 200)] });
    }
    const downtimeNs = runningAtNs - BigInt(exported.checkpoint.manifest.checkpointedAtNs);
    // Post-copy: the target runs it, but its memory is still here until the last page.
    let pageTransferNs: bigint | null = null;
    if (pageServer !== undefined) {
      const transferStarted = process.hrtime.bigint();
      const served = await finishPageTransfer(pageServer, exported.staged?.dir ?? "", request);
      const targetDone = await exited;
      await exported.staged?.release();
      if (served.exitCode !== 0) {
        // CRIU resumed the source; the target's daemon failed with it and removed its copy.
        exported = undefined;
        throw await lostPageTransfer(ctx, request.target, served.stderr);
      }
      if (targetDone.code !== 0) {
        // The target's daemon died before every page had arrived (CRIU here took the closed
        // connection for the end); the target removed its copy, and the source, left
        // running, runs on.
        exported = undefined;
        throw await lostPageTransfer(ctx, request.target, stderr);
      }
      pageTransferNs = process.hrtime.bigint() - transferStarted;
      // Every page is on the target: the source, which CRIU left running, goes now.
      await holdRestarts(ctx.store.layout, ctx.record, "migrated");
      await ctx.runtime.kill(ctx.record.id, "KILL").catch(() => {});
    } else {
      const done = await exited;
      if (done.code !== 0) throw targetFailure(request.target, done.code, stderr);
    }
    // The target runs it: only now does the source go.
    await exported.staged?.release();
    await removeContainer(ctx.store, ctx.record, ctx.runtime, { tolerateRuntime: true });
    return {
      name: ctx.record.name,
      target: request.target,
      export: exported,
      restored,
      targetTrustsSigner: trustsSigner,
      downtimeNs,
      durationNs: process.hrtime.bigint() - started,
      pageTransferNs,
    };
  } catch (caught) {
    if (target.exitCode === null) target.kill("SIGTERM");
    // A target that died while receiving: its own words explain the broken pipe.
    const targetExit = target.exitCode ?? (await Promise.race([exited.then((e) => e.code), new Promise<null>((r) => setTimeout(() => r(null), 500))]));
    const error =
      !sent && caught instanceof CkptError && targetExit !== null && targetExit !== 0 && !caught.message.startsWith("the target")
        ? new CkptError(ExitCode.transferFailed, `the target (${request.target}) exited ${targetExit} while receiving the archive: ${caught.message}`, { evidence: stderr.trim().split("\n").filter((l) => l !== "").slice(-6) })
        : caught;
    if (exported?.checkpoint.pageServer) {
      // Post-copy: the memory never left; ending CRIU lets the container run on here.
      const abandoned = await abandonLazyDump(ctx, exported.checkpoint.pageServer, error);
      await exported.staged?.release();
      throw abandoned;
    }
    if (exported?.staged) {
      // The export succeeded but the target did not: bring the source back from its images.
      await restoreContainer(ctx.store, { source: exported.staged.dir, newName: undefined, runtime: { name: ctx.record.runtime, path: ctx.record.runtimePath }, timeMode: "auto", options: {} }).catch((restoreError: unknown) => {
        throw new CkptError(ExitCode.criuFailed, `migration failed and "${ctx.record.name}" could not be restored here either`, { evidence: [String(error), String(restoreError)], hint: `its images are kept in ${exported?.staged?.dir}` });
      });
      await exported.staged.release();
      if (error instanceof CkptError) throw new CkptError(error.exitCode, `${error.message}; "${ctx.record.name}" was restored here and keeps running`, { evidence: error.evidence, ...(error.hint ? { hint: error.hint } : {}) });
    }
    throw error;
  } finally {
    await intent?.done();
    await rm(scratch, { recursive: true, force: true });
  }
}

// Waits for CRIU's page server to have sent the last page (the runtime then exits 0 and
// removes the source container), ending it if it stops moving.
async function finishPageTransfer(pageServer: LazyCheckpoint, stagingDir: string, request: MigrateRequest): Promise<{ exitCode: number; stderr: string }> {
  const watchdog = request.progressTimeoutMs === undefined ? undefined : watchCriu(pageServer.pid, [stagingDir], request.progressTimeoutMs);
  const served = await pageServer.done.finally(() => watchdog?.stop());
  if (watchdog?.stalledFor != null) return { exitCode: 1, stderr: `the page transfer made no progress for ${(watchdog.stalledFor / 1000).toFixed(1)} s, so ckpt ended CRIU` };
  return served;
}

// The page transfer failed after the target had started the container: CRIU resumed the
// source (its memory is whole here), so the target's copy, missing pages, must go.
async function lostPageTransfer(ctx: ContainerContext, target: string, why: string): Promise<CkptError> {
  const after = await thawIfPaused(ctx);
  const removal = await execa("sh", ["-c", `exec ${target} rm -f "$CKPT_NAME"`], { env: { CKPT_NAME: ctx.record.name }, reject: false, stdin: "ignore" });
  // The target's copy no longer answers for the container's address: the source may again.
  await raiseNetwork(ctx.store, ctx.record).catch(() => {});
  // Not found: the target removed its copy itself (its daemon failed).
  const removed = { exitCode: removal.exitCode === ExitCode.notFound ? 0 : removal.exitCode, stderr: removal.stderr };
  const here = after.status === "running" || after.status === "paused" ? "it runs here again, from the moment it was frozen" : `it is ${after.status} here`;
  return new CkptError(ExitCode.transferFailed, `the memory of "${ctx.record.name}" stopped moving after it had started on the target; ${here}`, {
    evidence: [...why.trim().split("\n").filter((l) => l !== "").slice(-4), removed.exitCode === 0 ? "the target's copy (missing pages) was removed" : `the target's copy could not be removed: ${String(removed.stderr).trim().split("\n").at(-1) ?? ""}`],
    hint: removed.exitCode === 0 ? "what the container did on the target since is lost; check the network between the hosts and migrate again" : `remove the target's copy by hand: ${target} rm -f ${ctx.record.name}`,
  });
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function targetFailure(target: string, code: number | null, stderr: string): CkptError {
  return new CkptError(ExitCode.transferFailed, `the target (${target}) could not restore the container (exit ${code ?? "signal"})`, {
    evidence: stderr.trim().split("\n").filter((l) => l !== "").slice(-6),
    hint: "run the target command by hand to see why: TARGET doctor",
  });
}
