// A per-test scratch area that is always cleaned up: a temporary directory plus a stack
// of cleanup steps (containers to delete, ...) run in reverse order after the test,
// whether it passed or failed.
import { mkdtemp, readdir, rm } from "node:fs/promises";
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
  const mounted = await unmountBelow(stale).catch(() => [] as string[]);
  const removable = stale.filter((path) => !mounted.some((m) => m === path || m.startsWith(`${path}/`)));
  await Promise.all(removable.map((path) => rm(path, { recursive: true, force: true })));
  return removable;
}
