// The demo's container: a busybox root filesystem (the host's static busybox and its
// applet links) and the runtime's own default spec, changed to run detached on pipes.
import { copyFile, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { CkptError, ExitCode } from "../errors.ts";
import { findExecutable } from "../host/find-executable.ts";

export const DEMO_SCRIPT = "i=0; while true; do i=$((i+1)); echo \"tick $i: uptime $(cut -d' ' -f1 /proc/uptime)\"; sleep 0.5; done";

export async function createDemoBundle(dir: string, runtimePath: string): Promise<string> {
  const busybox = findExecutable("busybox");
  if (busybox === null) {
    throw new CkptError(ExitCode.hostNotReady, "the demo needs a static busybox on the host", { hint: "apt-get install busybox-static (scripts/setup-host.sh installs it)" });
  }
  const rootfs = join(dir, "rootfs");
  await Promise.all(["bin", "proc", "sys", "dev", "tmp", "etc"].map((d) => mkdir(join(rootfs, d), { recursive: true })));
  await copyFile(busybox, join(rootfs, "bin/busybox"));
  const applets = (await execa(busybox, ["--list"])).stdout.split("\n").filter((a) => a !== "" && a !== "busybox");
  await Promise.all(applets.map((a) => symlink("busybox", join(rootfs, "bin", a))));
  await execa(runtimePath, ["spec"], { cwd: dir });
  const spec = JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as { process: { terminal: boolean; args: string[] }; root: { readonly: boolean } };
  spec.process.terminal = false;
  spec.process.args = ["/bin/sh", "-c", DEMO_SCRIPT];
  spec.root.readonly = false;
  await writeFile(join(dir, "config.json"), JSON.stringify(spec, null, 2));
  return dir;
}
