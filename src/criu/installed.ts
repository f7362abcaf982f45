// The version of the CRIU that runc and crun will run: the first `criu` on PATH (which
// --criu puts first; criu-path.ts).
import { findExecutable } from "../host/find-executable.ts";
import { probeCommand } from "../host/probe-command.ts";
import { parseCriuVersion } from "./version.ts";

export async function installedCriuVersion(): Promise<string> {
  const path = findExecutable("criu");
  if (path === null) return "unknown";
  return parseCriuVersion((await probeCommand(path, ["--version"])).stdout) ?? "unknown";
}
