// The target's half of a post-copy migration: CRIU's lazy-pages daemon. The restore hands
// it a userfaultfd per task over the socket it listens on in the restore's work
// directory; the daemon fetches each page from the source's page server when a task
// touches it, and the rest in the background, then exits. It outlives `ckpt restore`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { criuEvidence } from "../criu/version.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";
import { killAll, runsCommand } from "../proc/process.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import type { StoreLayout } from "../store/layout.ts";
import { formatPageServer, type PageServerAddress } from "../migrate/page-server.ts";

// CRIU names the socket so, in the work directory of both the daemon and the restore.
const LAZY_PAGES_SOCKET = "lazy-pages.socket";
const READY_TIMEOUT_MS = 10_000;

export interface LazyPagesDaemon {
  pid: number;
  logPath: string;
  // Ends the daemon (a restore that failed does not need it).
  stop(): void;
  // Waits for the daemon to end: 0 once every page has arrived, else its exit code (null:
  // a signal). Keeps this process alive meanwhile.
  finished(): Promise<number | null>;
}

export async function startLazyPagesDaemon(o: { imagesDir: string; workDir: string; pageServer: PageServerAddress }): Promise<LazyPagesDaemon> {
  const criu = findExecutable("criu");
  if (criu === null) throw new CkptError(ExitCode.hostNotReady, "CRIU is not installed", { hint: "run scripts/setup-host.sh as root" });
  const logPath = join(o.workDir, "lazy-pages.log");
  const argv = ["lazy-pages", "--page-server", "--address", o.pageServer.address, "--port", String(o.pageServer.port), "--images-dir", o.imagesDir, "--work-dir", o.workDir, "--log-file", logPath, "-v4"];
  // Its own session: it must survive this command, and a terminal's signals.
  const child = spawn(criu, argv, { detached: true, stdio: "ignore" });
  let exit: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve((exit = code))));
  child.unref();
  const pid = child.pid ?? 0;
  const stop = () => killAll([pid]);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!existsSync(join(o.workDir, LAZY_PAGES_SOCKET))) {
    if (exit !== undefined || Date.now() > deadline) {
      stop();
      const log = await readFile(logPath, "utf8").catch(() => "");
      throw new CkptError(ExitCode.criuFailed, `CRIU's lazy-pages daemon for ${formatPageServer(o.pageServer)} ${exit !== undefined ? `exited (${exit ?? "signal"})` : "did not start listening"} before the restore`, {
        evidence: criuEvidence(log),
        hint: `its log: ${logPath}`,
      });
    }
    await sleep(10);
  }
  return {
    pid,
    logPath,
    stop,
    finished: () => {
      child.ref();
      return exited;
    },
  };
}

// What a lazy restore leaves beside the container while its memory arrives: the daemon's
// PID and source (lazy-pages.json) and the images it reads (lazy-images/). Once the daemon
// has ended, both go: `settleLazyPages` is called by whoever looks next (ps, --wait-for-pages).
export interface LazyPagesRecord {
  daemonPid: number;
  from: string;
}

export async function recordLazyPages(layout: StoreLayout, name: string, record: LazyPagesRecord): Promise<void> {
  await writeFileAtomic(layout.lazyPagesRecord(name), `${JSON.stringify(record)}\n`);
}

// The record while pages still arrive; null (after removing what is left) once they stopped.
export async function settleLazyPages(layout: StoreLayout, name: string): Promise<LazyPagesRecord | null> {
  const text = await readFile(layout.lazyPagesRecord(name), "utf8").catch(() => null);
  if (text === null) return null;
  const record = JSON.parse(text) as LazyPagesRecord;
  if (await runsCommand(record.daemonPid, ["lazy-pages"])) return record;
  await rm(layout.lazyImagesDir(name), { recursive: true, force: true });
  await rm(layout.lazyPagesRecord(name), { force: true });
  return null;
}
