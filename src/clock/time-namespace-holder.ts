// A new time namespace with exact offsets, held open by the ckpt-timens helper (built
// from native/ckpt-timens.c) for as long as a restore needs to join it.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CkptError, ExitCode } from "../errors.ts";

const HELPER = fileURLToPath(new URL("../../dist/native/ckpt-timens", import.meta.url));

export interface TimeNamespaceHolder {
  // What CRIU's join-ns takes: the namespace the helper's children would get.
  path: string;
  release(): Promise<void>;
}

export async function holdTimeNamespace(offsets: { monotonicNs: bigint; boottimeNs: bigint }): Promise<TimeNamespaceHolder> {
  if (!existsSync(HELPER)) {
    throw new CkptError(ExitCode.hostNotReady, "the time-namespace helper ckpt-timens is not built", { hint: "run scripts/build.sh (it needs gcc; scripts/setup-host.sh installs it)" });
  }
  const child: ChildProcess = spawn(HELPER, [String(offsets.monotonicNs), String(offsets.boottimeNs)], { stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (output += c));
  const ready = await new Promise<boolean>((resolve) => {
    child.stdout!.on("data", (c: string) => c.includes("ready") && resolve(true));
    child.once("exit", () => resolve(false));
    child.once("error", () => resolve(false));
  });
  if (!ready) throw new CkptError(ExitCode.hostNotReady, "could not create a time namespace for the restore", { evidence: output.trim().split("\n") });
  const exited = once(child, "exit");
  return {
    path: `/proc/${child.pid}/ns/time_for_children`,
    async release() {
      child.stdin!.end();
      await exited;
    },
  };
}
