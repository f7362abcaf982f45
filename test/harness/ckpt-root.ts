// A ckpt state root of the test's own (--root), inside its sandbox. Everything ckpt
// created there is removed after the test, pass or fail: containers with `ckpt rm -f`
// (which kills their processes through the runtime), then the directory itself.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { Result } from "execa";
import { runCkpt } from "./cli.ts";
import type { Sandbox } from "./sandbox.ts";

export class CkptRoot {
  readonly root: string;

  constructor(sandbox: Sandbox, name = "ckpt-root") {
    this.root = sandbox.path(name);
    sandbox.defer(() => this.removeAll());
  }

  // Runs `name` from `bundle` (runc), exports it uncompressed to `archive` and removes it:
  // a real export for the import tests to read or tamper with.
  async exportOf(bundle: string, name: string, archive: string, options: { run?: string[]; export?: string[] } = {}): Promise<string> {
    await this.ok(["--runtime", "runc", "run", "-d", "--name", name, ...(options.run ?? []), bundle]);
    await this.ok(["checkpoint", "--export", archive, "-c", "none", ...(options.export ?? []), name]);
    await this.ok(["rm", "-f", name]);
    return archive;
  }

  // `ckpt --root ROOT args...`
  run(args: string[], options: Parameters<typeof runCkpt>[1] = {}): Promise<Result> {
    return runCkpt(["--root", this.root, ...args], options);
  }

  // Runs and fails the test with ckpt's own words when the exit code is not `expected`.
  async ok(args: string[], expected = 0): Promise<Result> {
    const r = await this.run(args);
    if (r.exitCode !== expected) throw new Error(`ckpt ${args.join(" ")} exited ${r.exitCode}, expected ${expected}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r;
  }

  async json<T>(args: string[]): Promise<T> {
    return JSON.parse(String((await this.ok([...args, "--json"])).stdout)) as T;
  }

  private async removeAll(): Promise<void> {
    const names = await readdir(join(this.root, "containers")).catch(() => [] as string[]);
    if (names.length > 0) await this.run(["rm", "-f", ...names]);
  }
}
