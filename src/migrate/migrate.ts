// `ckpt migrate NAME --to TARGET`: the archive streams from the checkpoint straight into
// `TARGET restore --import -` (TARGET runs ckpt on the other host: `ssh host ckpt`, or
// `ip netns exec B ckpt --root /b`), through a FIFO, so no file is written on either side
// beyond the staging the export and the import already do. The source is removed only
// once the target says the container runs; if anything fails, the source is restored
// from its staged images: never both gone.
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { exportCheckpoint, type ExportResult } from "../archive/export-checkpoint.ts";
import type { ContainerContext } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { restoreContainer } from "../restore/restore.ts";

export interface MigrateRequest {
  target: string;
  tcpEstablished: boolean;
  fileLocks: boolean;
  allowProcessLoss: boolean;
}

export interface MigrateResult {
  name: string;
  target: string;
  export: ExportResult;
  // What the target's `restore --import - --json` printed.
  restored: Record<string, unknown>;
  // From the dump (the container frozen) to the target reporting it running.
  downtimeNs: bigint;
  durationNs: bigint;
}

export async function migrateContainer(ctx: ContainerContext, request: MigrateRequest): Promise<MigrateResult> {
  const started = process.hrtime.bigint();
  const scratch = await mkdtemp(join(tmpdir(), "ckpt-migrate-"));
  const fifo = join(scratch, "archive");
  await execa("mkfifo", ["-m", "600", fifo]);
  // The shell opens the FIFO for the target; it blocks until ckpt opens the other end.
  const target = spawn("sh", ["-c", `exec ${request.target} restore --import - --json < "$CKPT_FIFO"`], { env: { ...process.env, CKPT_FIFO: fifo }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  target.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  target.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<{ code: number | null; atNs: bigint }>((resolve) => target.on("close", (code) => resolve({ code, atNs: BigInt(Date.now()) * 1_000_000n })));
  let exported: ExportResult | undefined;
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
    try {
      exported = await exportCheckpoint(ctx, {
        destination: { fd: writer.fd, label: `${request.target} (stream)` },
        compression: "zstd",
        ignoreRootfs: false,
        retainStaging: true,
        leaveRunning: false,
        tcpEstablished: request.tcpEstablished,
        fileLocks: request.fileLocks,
        keep: false,
        allowProcessLoss: request.allowProcessLoss,
      });
    } finally {
      await writer.close();
    }
    const result = await exited;
    if (result.code !== 0) throw targetFailure(request.target, result.code, stderr);
    let restored: Record<string, unknown>;
    try {
      restored = JSON.parse(stdout) as Record<string, unknown>;
    } catch {
      throw new CkptError(ExitCode.transferFailed, `the target said it restored "${ctx.record.name}" but printed no JSON`, { evidence: [stdout.slice(0, 200)] });
    }
    // The target runs it: only now does the source go.
    await exported.staged?.release();
    await ctx.runtime.delete(ctx.record.id, true).catch(() => {});
    await ctx.store.remove(ctx.record.name);
    return {
      name: ctx.record.name,
      target: request.target,
      export: exported,
      restored,
      downtimeNs: result.atNs - BigInt(exported.checkpoint.manifest.checkpointedAtNs),
      durationNs: process.hrtime.bigint() - started,
    };
  } catch (caught) {
    if (target.exitCode === null) target.kill("SIGTERM");
    // A target that died while receiving: its own words explain the broken pipe.
    const targetExit = target.exitCode ?? (await Promise.race([exited.then((e) => e.code), new Promise<null>((r) => setTimeout(() => r(null), 500))]));
    const error =
      caught instanceof CkptError && targetExit !== null && targetExit !== 0 && !caught.message.startsWith("the target")
        ? new CkptError(ExitCode.transferFailed, `the target (${request.target}) exited ${targetExit} while receiving the archive: ${caught.message}`, { evidence: stderr.trim().split("\n").filter((l) => l !== "").slice(-6) })
        : caught;
    if (exported?.staged) {
      // The export succeeded but the target did not: bring the source back from its images.
      await restoreContainer(ctx.store, { source: exported.staged.dir, newName: undefined, runtime: ctx.record.runtime, timeMode: "auto", tcpEstablished: request.tcpEstablished, fileLocks: request.fileLocks }).catch((restoreError: unknown) => {
        throw new CkptError(ExitCode.criuFailed, `migration failed and "${ctx.record.name}" could not be restored here either`, { evidence: [String(error), String(restoreError)], hint: `its images are kept in ${exported?.staged?.dir}` });
      });
      await exported.staged.release();
      if (error instanceof CkptError) throw new CkptError(error.exitCode, `${error.message}; "${ctx.record.name}" was restored here and keeps running`, { evidence: error.evidence, ...(error.hint ? { hint: error.hint } : {}) });
    }
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function targetFailure(target: string, code: number | null, stderr: string): CkptError {
  return new CkptError(ExitCode.transferFailed, `the target (${target}) could not restore the container (exit ${code ?? "signal"})`, {
    evidence: stderr.trim().split("\n").filter((l) => l !== "").slice(-6),
    hint: "run the target command by hand to see why: TARGET doctor",
  });
}
