// Locks that keep two ckpt commands off one container, and two --all operations off the
// store. Each is flock(2) on ROOT/locks/KIND-NAME.lock. Node has no flock, but a flock
// lock belongs to the open file description: ckpt opens the file itself and has
// util-linux's flock take the lock on that description (passed as its fd 3). flock exits,
// ckpt keeps the lock through its own fd, and the kernel drops it when ckpt exits, even by
// SIGKILL: a lock is never stale. Lock files are never deleted (a waiter may hold the old
// one open); who holds a lock is written beside it, for the error a waiter gives.
import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import type { StoreLayout } from "./layout.ts";
import { validateContainerName } from "./names.ts";

// How long a command waits for a busy container when nothing says otherwise.
export const DEFAULT_LOCK_TIMEOUT_MS = 5000;

export interface LockOptions {
  // 0: try once and fail at once when busy (checkpoint --all).
  timeoutMs?: number | undefined;
  // What the holder does, for whoever waits (default: this command's line).
  purpose?: string | undefined;
}

// A lock this process holds. release() is idempotent.
export interface HeldLock {
  readonly path: string;
  release(): void;
}

// Who holds a lock, as the holder wrote it to KIND-NAME.holder.
export const LockHolderSchema = z.object({
  pid: z.number().int().positive(),
  // The holder's command line as it saw it (`ckpt checkpoint web`), or its purpose.
  command: z.string(),
  sinceMs: z.number().nonnegative(),
  // The holder's start time (/proc/PID/stat, clock ticks since boot): tells it from a
  // later process that got the same PID.
  startTicks: z.string().regex(/^\d+$/),
});
export type LockHolder = z.infer<typeof LockHolderSchema>;

// A lock another command holds: a conflict (exit 9) that names the holder.
export class LockBusyError extends CkptError {
  readonly holder: LockHolder | null;
  constructor(message: string, holder: LockHolder | null, hint: string) {
    super(ExitCode.conflict, message, { hint });
    this.holder = holder;
  }
}

// Pure: the holder file's text, or null when it is missing or damaged.
export function parseLockHolder(text: string | null): LockHolder | null {
  if (text === null) return null;
  try {
    return LockHolderSchema.safeParse(JSON.parse(text)).data ?? null;
  } catch {
    return null;
  }
}

// Pure: field 22 (starttime) of /proc/PID/stat; the command name may hold spaces and
// parentheses, so fields are counted from its last ')'.
export function startTicksOf(statText: string): string | null {
  const fields = statText.slice(statText.lastIndexOf(")") + 2).split(" ");
  const ticks = fields[19];
  return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : null;
}

// Pure: flock's arguments for a wait of `timeoutMs` on its fd 3.
export function flockArgs(timeoutMs: number): string[] {
  return timeoutMs <= 0 ? ["-x", "-n", "3"] : ["-x", "-w", (timeoutMs / 1000).toFixed(3), "3"];
}

// Pure: what a waiter says when `subject` stayed busy. `holder` only when it is alive.
export function describeBusy(subject: string, holder: LockHolder | null, waitedMs: number, nowMs: number): { message: string; hint: string } {
  const waited = waitedMs > 0 ? ` (waited ${formatSeconds(waitedMs)})` : "";
  const by = holder === null ? "another ckpt command holds it" : `${holder.command} (PID ${holder.pid}) has held it for ${formatSeconds(Math.max(0, nowMs - holder.sinceMs))}`;
  return { message: `${subject} is busy: ${by}${waited}`, hint: "wait for it to finish and try again, or wait longer with --lock-timeout (e.g. --lock-timeout 2m)" };
}

function formatSeconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

// Pure: the command line as ckpt saw it, for the holder file.
export function commandLine(args: readonly string[]): string {
  const quoted = args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`));
  const line = ["ckpt", ...quoted].join(" ");
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

// The lock of one container, for the whole of an operation that changes it.
export function lockContainer(layout: StoreLayout, name: string, options: LockOptions = {}): Promise<HeldLock> {
  return acquire(layout, `container-${validateContainerName(name)}`, `container "${name}"`, options);
}

// The store's lock: one --all operation at a time.
export function lockStore(layout: StoreLayout, options: LockOptions = {}): Promise<HeldLock> {
  return acquire(layout, "store-all", "the store (another --all operation)", options);
}

// The lock of container `name` if it is free now, else the error that names its holder.
export async function tryLockContainer(layout: StoreLayout, name: string, purpose?: string): Promise<HeldLock | LockBusyError> {
  try {
    return await lockContainer(layout, name, { timeoutMs: 0, purpose });
  } catch (error) {
    if (error instanceof LockBusyError) return error;
    throw error;
  }
}

// The containers that have a lock file (held or not): a container being restored under a
// new name has one before it has a record.
export async function lockedContainerNames(layout: StoreLayout): Promise<string[]> {
  const files = await readdir(layout.locksDir()).catch(() => [] as string[]);
  return files.flatMap((f) => /^container-(.+)\.lock$/.exec(f)?.slice(1) ?? []);
}

// Runs `work` holding the lock of container `name`; releases it on every path.
export async function withContainerLock<T>(layout: StoreLayout, name: string, options: LockOptions, work: () => Promise<T>): Promise<T> {
  const lock = await lockContainer(layout, name, options);
  try {
    return await work();
  } finally {
    lock.release();
  }
}

// Locks this process holds, by path, with how many times each was taken. One ckpt command
// is one holder: an operation that calls another (export calls restore on failure, restore
// --all calls restore) takes the lock it already has again, instead of waiting for itself.
const held = new Map<string, { fd: number; holderPath: string; count: number }>();

async function acquire(layout: StoreLayout, file: string, subject: string, options: LockOptions): Promise<HeldLock> {
  const dir = layout.locksDir();
  const path = join(dir, `${file}.lock`);
  const holderPath = join(dir, `${file}.holder`);
  const already = held.get(path);
  if (already !== undefined) {
    already.count++;
    return handle(path);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fd = openSync(path, "a", 0o600);
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const started = Date.now();
  let code: number | null;
  try {
    code = await runFlock(fd, flockArgs(timeoutMs));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  if (code !== 0) {
    closeSync(fd);
    if (code !== 1) throw new CkptError(ExitCode.internal, `flock ${flockArgs(timeoutMs).join(" ")} on ${path} exited ${code}`);
    const holder = await liveHolder(holderPath);
    const { message, hint } = describeBusy(subject, holder, Date.now() - started, Date.now());
    throw new LockBusyError(message, holder, hint);
  }
  held.set(path, { fd, holderPath, count: 1 });
  const startTicks = startTicksOf(readFileSync("/proc/self/stat", "utf8")) ?? "0";
  const me: LockHolder = { pid: process.pid, command: options.purpose ?? commandLine(process.argv.slice(2)), sinceMs: Date.now(), startTicks };
  // Who holds it is a courtesy to waiters: failing to say so does not give up the lock.
  await writeFileAtomic(holderPath, `${JSON.stringify(me)}\n`).catch(() => {});
  return handle(path);
}

function handle(path: string): HeldLock {
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      const entry = held.get(path);
      if (entry === undefined || --entry.count > 0) return;
      held.delete(path);
      // Removed while still held, so never a later holder's file.
      rmSync(entry.holderPath, { force: true });
      closeSync(entry.fd);
    },
  };
}

// flock's exit code: 0 locked, 1 busy (after the wait).
function runFlock(fd: number, args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn("flock", args, { stdio: ["ignore", "ignore", "pipe", fd] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new CkptError(ExitCode.hostNotReady, "ckpt needs flock (util-linux) to lock containers, and it is not on PATH", { hint: "apt-get install util-linux" }) : error),
    );
    child.on("close", (code) => {
      if (code !== 0 && code !== 1 && stderr !== "") reject(new CkptError(ExitCode.internal, `flock failed: ${stderr.trim()}`));
      else resolve(code);
    });
  });
}

// Who holds container `name`'s lock now (a live process), or null: what ps shows.
export async function containerLockHolder(layout: StoreLayout, name: string): Promise<LockHolder | null> {
  return liveHolder(join(layout.locksDir(), `container-${name}.holder`));
}

// The holder the file names, when that process still runs (not a later one with its PID).
async function liveHolder(holderPath: string): Promise<LockHolder | null> {
  const holder = parseLockHolder(await readFile(holderPath, "utf8").catch(() => null));
  if (holder === null) return null;
  const stat = await readFile(`/proc/${holder.pid}/stat`, "utf8").catch(() => null);
  return stat !== null && startTicksOf(stat) === holder.startTicks ? holder : null;
}
