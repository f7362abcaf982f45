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
