// A per-test scratch area that is always cleaned up: a temporary directory plus a stack
// of cleanup steps (containers to delete, ...) run in reverse order after the test,
// whether it passed or failed.
import { mkdtemp, readdir, readFile, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { isStaleTestResource, testResourcePrefix } from "./owner.ts";
import { unmountBelow } from "../../src/host/mounts.ts";

// The part of TestContext a sandbox needs: a hook that runs after the test, pass or fail.
type AfterHook = Pick<TestContext, "after">;

export class Sandbox {
  readonly dir: string;
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(t: AfterHook): Promise<Sandbox> {
    const sandbox = new Sandbox(await mkdtemp(join(tmpdir(), testResourcePrefix)));
    t.after(() => sandbox.dispose());
    return sandbox;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  defer(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  async dispose(): Promise<void> {
    const errors: unknown[] = [];
    for (const cleanup of this.cleanups.reverse()) {
      try {
        await cleanup();
      } catch (error) {
        errors.push(error);
      }
    }
    this.cleanups.length = 0;
    // Never delete through a mount a dead CRIU left below (a bind-mounted root
    // filesystem, or its yard of cgroup hierarchies: a recursive delete there would
    // remove the host's empty cgroups).
    const mounted = await unmountBelow([this.dir]).catch(() => [] as string[]);
    if (mounted.length > 0) errors.push(new Error(`left ${this.dir} in place: still mounted below it: ${mounted.join(", ")}`));
    else await rm(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, "sandbox cleanup failed");
  }
}

// Removes the temporary directories of test processes that were killed; returns them.
export async function removeStaleSandboxes(dir = tmpdir()): Promise<string[]> {
  const stale = (await readdir(dir)).filter(isStaleTestResource).map((name) => join(dir, name));
  for (const sandbox of stale) await endStaleContainers(sandbox);
  const mounted = await unmountBelow(stale).catch(() => [] as string[]);
  const removable = stale.filter((path) => !mounted.some((m) => m === path || m.startsWith(`${path}/`)));
  await Promise.all(removable.map((path) => rm(path, { recursive: true, force: true })));
  return removable;
}

// The containers a killed test process left running in its sandbox: each monitor (conmon)
// and container process whose PID its ckpt root recorded, ended only when the process is
// still that one (its command line names the sandbox, or its cgroup the container id), then the
// runtime's cgroups of that container id.
async function endStaleContainers(sandbox: string): Promise<void> {
  const roots = (await readdir(sandbox, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => join(sandbox, e.name, "containers"));
  for (const containers of roots) {
    for (const name of await readdir(containers).catch(() => [] as string[])) {
      const dir = join(containers, name);
      const id = await readFile(join(dir, "container.json"), "utf8").then((t) => (JSON.parse(t) as { id?: unknown }).id, () => undefined);
      const pids = await Promise.all(["monitor.pid", "container.pid"].map((f) => readFile(join(dir, f), "utf8").then((t) => Number(t.trim()), () => 0)));
      for (const pid of pids.filter((p) => Number.isInteger(p) && p > 1)) {
        const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
        const cgroups = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
        if (cmdline.includes(sandbox) || (typeof id === "string" && id.length === 64 && cgroups.includes(id))) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Already gone.
          }
        }
      }
      if (typeof id === "string" && /^[0-9a-f]{64}$/.test(id)) {
        await new Promise((r) => setTimeout(r, 200));
        for (const hierarchy of await readdir("/sys/fs/cgroup").catch(() => [] as string[])) await rmdir(join("/sys/fs/cgroup", hierarchy, id)).catch(() => {});
        await rmdir(join("/sys/fs/cgroup", id)).catch(() => {});
      }
    }
  }
}
