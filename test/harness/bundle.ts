// Builds OCI bundles for tests: a busybox root filesystem (the static binary, its applet
// links, empty proc, sys, dev, tmp) plus the fixture programs, and a config.json that
// starts from `runc spec` (the runtime's own default) with the changes tests need.
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { findExecutable } from "../../src/host/find-executable.ts";
import { testResourcePrefix } from "./owner.ts";
import { fixturePrograms } from "./programs.ts";

export interface BundleOptions {
  // The container's process; it should redirect its own stdio to files inside the
  // container (see `inContainerShell`), since host files cannot be checkpointed.
  args: string[];
}

let appletNames: Promise<string[]> | undefined;
let defaultSpec: Promise<Record<string, unknown>> | undefined;

// Creates `dir/rootfs` and `dir/config.json`; returns `dir`.
export async function createBusyboxBundle(dir: string, options: BundleOptions): Promise<string> {
  const busybox = findExecutable("busybox");
  if (busybox === null) throw new Error("busybox not found (apt-get install busybox-static)");
  const rootfs = join(dir, "rootfs");
  await Promise.all(["bin", "proc", "sys", "dev", "tmp", "usr/bin", "etc"].map((d) => mkdir(join(rootfs, d), { recursive: true })));
  await copyFile(busybox, join(rootfs, "bin/busybox"));
  appletNames ??= execa(busybox, ["--list"]).then((r) => r.stdout.split("\n").filter((a) => a && a !== "busybox"));
  await Promise.all((await appletNames).map((applet) => symlink("busybox", join(rootfs, "bin", applet))));
  const programs = await fixturePrograms();
  await Promise.all(Object.entries(programs).map(([name, path]) => copyFile(path, join(rootfs, "usr/bin", name))));

  const spec = structuredClone(await runcDefaultSpec()) as {
    process: { terminal: boolean; args: string[]; env: string[] };
    root: { readonly: boolean };
  };
  spec.process.terminal = false;
  spec.process.args = options.args;
  spec.root.readonly = false;
  await writeFile(join(dir, "config.json"), JSON.stringify(spec, null, 2));
  return dir;
}

// A container command that ends at once, with status 0, on SIGTERM (a graceful stop).
export const politeShell = ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"];

// The container's command: a busybox shell that runs `command` with stdin from the
// container's /dev/null and stdout/stderr appended to `logPath` inside the container.
export function inContainerShell(command: string, logPath = "/tmp/out.log"): string[] {
  return ["/bin/sh", "-c", `exec ${command} </dev/null >>${logPath} 2>&1`];
}

async function runcDefaultSpec(): Promise<Record<string, unknown>> {
  defaultSpec ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), `${testResourcePrefix}spec-`));
    try {
      await execa("runc", ["spec"], { cwd: dir });
      return JSON.parse(await readFile(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return defaultSpec;
}

// Rewrites the bundle's config.json through `edit`.
export async function editBundleSpec(bundle: string, edit: (spec: SpecForTests) => void): Promise<void> {
  const path = join(bundle, "config.json");
  const spec = JSON.parse(await readFile(path, "utf8")) as SpecForTests;
  edit(spec);
  await writeFile(path, JSON.stringify(spec, null, 2));
}

export interface SpecForTests {
  mounts: { destination: string; type?: string; source?: string; options?: string[] }[];
  linux: { namespaces: { type: string; path?: string }[] };
}

// A busybox bundle sleeping, with the host directory `shared` (holding greeting: "hello")
// bind-mounted at /data: a spec the import policy refuses unless mounts are allowed.
export async function createBundleWithHostMount(dir: string, shared: string): Promise<string> {
  await mkdir(shared, { recursive: true });
  await writeFile(join(shared, "greeting"), "hello\n");
  const bundle = await createBusyboxBundle(dir, { args: inContainerShell("sleep 1000") });
  const config = JSON.parse(await readFile(join(bundle, "config.json"), "utf8")) as { mounts: unknown[] };
  config.mounts.push({ destination: "/data", type: "bind", source: shared, options: ["rbind", "rw"] });
  await writeFile(join(bundle, "config.json"), JSON.stringify(config));
  return bundle;
}
