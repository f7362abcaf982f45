// Whether a CRIU can dump inet sockets on the running kernel, found by dumping one:
// ckpt-inet-probe (native/) holds a TCP listener and a UDP socket, `criu dump
// --leave-running` dumps it. The answer holds for a boot, a kernel and a CRIU binary,
// so it is cached like CRIU's own kerndat: a fresh probe takes a fraction of a second.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { z } from "zod";
import { criuFailureLines } from "./version.ts";

const HELPER = fileURLToPath(new URL("../../dist/native/ckpt-inet-probe", import.meta.url));
// Per boot, like /run/criu.kdat: /run is emptied at boot.
export const INET_PROBE_CACHE = "/run/ckpt/criu-inet-probe.json";
const READY_TIMEOUT_MS = 5_000;
const DUMP_TIMEOUT_MS = 20_000;

export interface InetSocketProbe {
  // CRIU dumped a process holding a TCP listener and a UDP socket.
  ok: boolean;
  // CRIU's Error lines that matter (the harmless rlimit one left out) when it failed.
  errorLines: string[];
  // Answered from the per-boot cache rather than by dumping now.
  cached: boolean;
}

// What makes a cached answer valid: the same boot, kernel, CRIU binary and helper.
const probeKey = z.object({
  bootId: z.string(),
  kernelRelease: z.string(),
  criuPath: z.string(),
  criuSize: z.number(),
  criuMtimeMs: z.number(),
  helperSize: z.number(),
  helperMtimeMs: z.number(),
});
export type InetProbeKey = z.infer<typeof probeKey>;

const cacheFile = z.object({
  entries: z.array(z.object({ key: probeKey, ok: z.boolean(), errorLines: z.array(z.string()) })),
});
type CacheFile = z.infer<typeof cacheFile>;
// A few CRIU binaries per boot (the installed one, a kept one given with --criu).
const MAX_ENTRIES = 8;

// The verdict of a probe dump from CRIU's exit code and its dump.log.
export function inetDumpVerdict(exitCode: number | undefined, dumpLog: string): { ok: boolean; errorLines: string[] } {
  if (exitCode === 0) return { ok: true, errorLines: [] };
  const errors = criuFailureLines(dumpLog);
  return { ok: false, errorLines: errors.length > 0 ? errors : [`criu dump exited with ${exitCode ?? "a signal"} and logged no Error line`] };
}

// The cached answer for `key`, or null.
export function lookupInetProbe(cache: CacheFile, key: InetProbeKey): { ok: boolean; errorLines: string[] } | null {
  const fields = Object.keys(probeKey.shape) as (keyof InetProbeKey)[];
  const hit = cache.entries.find((e) => fields.every((f) => e.key[f] === key[f]));
  return hit ? { ok: hit.ok, errorLines: hit.errorLines } : null;
}

// `cache` with the answer for `key` first, older answers for the same CRIU path dropped.
export function rememberInetProbe(cache: CacheFile, key: InetProbeKey, verdict: { ok: boolean; errorLines: string[] }): CacheFile {
  const others = cache.entries.filter((e) => e.key.criuPath !== key.criuPath);
  return { entries: [{ key, ...verdict }, ...others].slice(0, MAX_ENTRIES) };
}

const inFlight = new Map<string, Promise<InetSocketProbe | null>>();

// Can `criuPath` dump inet sockets here? null when it could not be found out (no helper
// built, the helper or CRIU could not start). Asked at most once per process and CRIU.
export function probeInetSockets(criuPath: string): Promise<InetSocketProbe | null> {
  let result = inFlight.get(criuPath);
  if (result === undefined) {
    result = probeOrRecall(criuPath);
    inFlight.set(criuPath, result);
  }
  return result;
}

async function probeOrRecall(criuPath: string): Promise<InetSocketProbe | null> {
  const key = await keyFor(criuPath);
  const cache = await readCache();
  const known = key && lookupInetProbe(cache, key);
  if (known) return { ...known, cached: true };
  const dumped = await dumpProbe(criuPath);
  if (dumped === null) return null;
  const { timedOut, ...verdict } = dumped;
  // A dump that ran out of time says more about this moment than about CRIU and kernel.
  if (key && !timedOut) await writeCache(rememberInetProbe(cache, key, verdict));
  return { ...verdict, cached: false };
}

async function keyFor(criuPath: string): Promise<InetProbeKey | null> {
  try {
    const [bootId, criu, helper] = await Promise.all([readFile("/proc/sys/kernel/random/boot_id", "utf8"), stat(criuPath), stat(HELPER)]);
    return {
      bootId: bootId.trim(),
      kernelRelease: release(),
      criuPath,
      criuSize: criu.size,
      criuMtimeMs: criu.mtimeMs,
      helperSize: helper.size,
      helperMtimeMs: helper.mtimeMs,
    };
  } catch {
    return null;
  }
}

async function readCache(): Promise<CacheFile> {
  try {
    const parsed = cacheFile.safeParse(JSON.parse(await readFile(INET_PROBE_CACHE, "utf8")));
    if (parsed.success) return parsed.data;
  } catch {
    /* none yet, or unreadable: probe afresh */
  }
  return { entries: [] };
}

// Best effort: without write access to /run (not root) every doctor run probes afresh.
async function writeCache(cache: CacheFile): Promise<void> {
  const temp = `${INET_PROBE_CACHE}.${process.pid}.tmp`;
  try {
    await mkdir(join(INET_PROBE_CACHE, ".."), { recursive: true });
    await writeFile(temp, `${JSON.stringify(cache, null, 2)}\n`);
    await rename(temp, INET_PROBE_CACHE);
  } catch {
    await rm(temp, { force: true });
  }
}

// Starts the helper, dumps it with --leave-running, and ends it (only that process) and
// removes the images whatever happens.
async function dumpProbe(criuPath: string): Promise<{ ok: boolean; errorLines: string[]; timedOut: boolean } | null> {
  if (!existsSync(HELPER)) return null;
  const dir = await mkdtemp(join(tmpdir(), "ckpt-inet-probe-"));
  // The helper starts its own session, so CRIU dumps it as a whole tree, no --shell-job;
  // once ready it holds nothing of ours (CRIU refuses the socketpairs Node.js uses for stdio).
  const helper = spawn(HELPER, [], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = once(helper, "close").catch(() => undefined);
  try {
    if (!(await helperReady(helper))) return null;
    const r = await execa(criuPath, ["dump", "-t", String(helper.pid), "--leave-running", "-D", dir, "-o", "dump.log"], {
      reject: false,
      timeout: DUMP_TIMEOUT_MS,
      stdin: "ignore",
      env: { LC_ALL: "C" },
    });
    if (r.exitCode === undefined && r.signal === undefined) return null; // CRIU could not start
    if (r.timedOut) return { ok: false, errorLines: [`criu dump did not finish within ${DUMP_TIMEOUT_MS / 1000} s`], timedOut: true };
    const log = await readFile(join(dir, "dump.log"), "utf8").catch(() => `${r.stdout}\n${r.stderr}`);
    return { ...inetDumpVerdict(r.exitCode, log), timedOut: false };
  } finally {
    helper.kill("SIGKILL"); // a no-op once it has exited: Node.js never signals a reaped PID
    await exited;
    await rm(dir, { recursive: true, force: true });
  }
}

function helperReady(helper: ReturnType<typeof spawn>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
    const done = (ready: boolean) => {
      clearTimeout(timer);
      resolve(ready);
    };
    helper.stdout!.setEncoding("utf8").on("data", (c: string) => c.includes("ready") && done(true));
    helper.stderr!.resume();
    helper.once("exit", () => done(false));
    helper.once("error", () => done(false));
  });
}
