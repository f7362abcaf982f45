// --criu PATH: which CRIU ckpt, runc and crun run. runc (its --criu flag is ignored since
// 1.2) and crun's libcriu both look up `criu` on PATH, so the way to give them one binary
// is to put its directory first on PATH, for ckpt and every process it starts.
import { basename, delimiter, dirname, resolve } from "node:path";
import type { ResolvedSetting } from "../config/resolve.ts";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";

// Pure: the PATH that makes `criuPath` the first `criu` found.
export function pathWithCriuFirst(criuPath: string, pathEnv: string): string {
  const dir = dirname(criuPath);
  return [dir, ...pathEnv.split(delimiter).filter((d) => d !== "" && d !== dir)].join(delimiter);
}

export function putCriuFirstOnPath(criu: ResolvedSetting<string>, env: NodeJS.ProcessEnv = process.env): void {
  if (criu.source === "default") return;
  const where = criu.source === "flag" ? "--criu" : criu.source === "env" ? "CKPT_CRIU" : "criu in the config file";
  const path = findExecutable(criu.value, env["PATH"] ?? "");
  if (path === null) throw new CkptError(ExitCode.usage, `${where} ${criu.value}: no executable file there`, { hint: "give the path of an executable criu, or leave it out to use the installed one" });
  if (basename(path) !== "criu") {
    throw new CkptError(ExitCode.usage, `${where} ${criu.value}: the file must be called criu`, { hint: "runc and crun run the criu they find on PATH, so ckpt puts its directory first there: link it as DIR/criu and give that" });
  }
  // Absolute: a relative directory on PATH is looked up from each child's working
  // directory (runc refused "criu found relative to current directory", crun's execvp and
  // every other child would run whatever is there), and ckpt's own lookups skip it.
  env["PATH"] = pathWithCriuFirst(resolve(path), env["PATH"] ?? "");
}
