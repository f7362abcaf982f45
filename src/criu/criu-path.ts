// --criu PATH: which CRIU ckpt, runc and crun run. runc (its --criu flag is ignored since
// 1.2) and crun's libcriu both look up `criu` on PATH, so ckpt puts a directory that holds
// only a link named criu, to that binary, first on PATH, for itself and every process it
// starts. Only criu: the binary's own directory first would also put whatever else is
// there (a runc, an iptables) before the system's.
import { createHash } from "node:crypto";
import { mkdirSync, readlinkSync, realpathSync, renameSync, symlinkSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { ResolvedSetting } from "../config/resolve.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";

// Where the link directories live (root's tmpfs: gone at reboot, made again on use).
export const CRIU_LINK_ROOT = "/run/ckpt/criu";

// Pure: the PATH with `dir` first, once.
export function pathWithDirFirst(dir: string, pathEnv: string): string {
  return [dir, ...pathEnv.split(delimiter).filter((d) => d !== "" && d !== dir)].join(delimiter);
}

// A directory holding `criu` -> `target` (one per target), made if missing.
export function criuLinkDir(target: string, linkRoot = CRIU_LINK_ROOT): string {
  const dir = join(linkRoot, createHash("sha256").update(target).digest("hex").slice(0, 16));
  const link = join(dir, "criu");
  const current = (() => {
    try {
      return readlinkSync(link);
    } catch {
      return null;
    }
  })();
  if (current !== target) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${link}.${process.pid}`;
    symlinkSync(target, tmp);
    renameSync(tmp, link);
  }
  return dir;
}

export function putCriuFirstOnPath(criu: ResolvedSetting<string>, env: NodeJS.ProcessEnv = process.env, linkRoot = CRIU_LINK_ROOT): void {
  if (criu.source === "default") return;
  const where = criu.source === "flag" ? "--criu" : criu.source === "env" ? "CKPT_CRIU" : "criu in the config file";
  const path = findExecutable(criu.value, env["PATH"] ?? "");
  if (path === null) throw new CkptError(ExitCode.usage, `${where} ${criu.value}: no executable file there`, { hint: "give the path of an executable criu, or leave it out to use the installed one" });
  // Absolute and resolved: a relative directory on PATH is looked up from each child's
  // working directory (runc refused "criu found relative to current directory").
  env["PATH"] = pathWithDirFirst(criuLinkDir(realpathSync(path), linkRoot), env["PATH"] ?? "");
}
