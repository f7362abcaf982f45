// Drives a real runc or crun directly, as an operator would, for the integration tests.
// Test containers live under their own state root and are named ckpt-test-<pid>-<n>, so
// leftovers of a test process that was killed can be recognised and removed.
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { execa } from "execa";
import type { RuntimeName } from "../../src/runtimes/runtime.ts";
import { isStaleTestResource, testResourcePrefix } from "./owner.ts";
import { runtimeBinary } from "./matrix.ts";

export const TEST_STATE_ROOT = "/run/ckpt-test";
let counter = 0;

export function testContainerName(): string {
  return `${testResourcePrefix}${++counter}`;
}

export interface ContainerState {
  id: string;
  pid: number;
  status: string;
}

export class OciRuntime {
  readonly name: RuntimeName;
  readonly stateRoot: string;

  constructor(name: RuntimeName) {
    this.name = name;
    this.stateRoot = `${TEST_STATE_ROOT}/${name}`;
  }

  // Runs `<runtime> --root <stateRoot> args...` and returns its stdout; throws with the
  // runtime's stderr on failure.
  async cli(args: string[]): Promise<string> {
    try {
      return (await execa(runtimeBinary(this.name), ["--root", this.stateRoot, ...args], { stdin: "ignore" })).stdout;
    } catch (error) {
      const e = error as { stderr?: string; shortMessage?: string };
      throw new Error(`${this.name} ${args.join(" ")} failed: ${e.stderr || e.shortMessage}`);
    }
  }

  async version(): Promise<string> {
    return (await execa(runtimeBinary(this.name), ["--version"])).stdout;
  }

  // Creates and starts a detached container from `bundle`. Its stdio are closed: the
  // container's own command redirects them inside the container.
  async runDetached(id: string, bundle: string): Promise<void> {
    await execa(runtimeBinary(this.name), ["--root", this.stateRoot, "run", "--detach", "--bundle", bundle, id], { stdio: "ignore" });
  }

  // Image and work directories are created first: runc creates them itself, crun does not.
  async checkpoint(id: string, imageDir: string, workDir: string): Promise<void> {
    await Promise.all([mkdir(imageDir, { recursive: true }), mkdir(workDir, { recursive: true })]);
    await this.cli(["checkpoint", "--image-path", imageDir, "--work-path", workDir, id]);
  }

  async restoreDetached(id: string, bundle: string, imageDir: string, workDir: string): Promise<void> {
    await mkdir(workDir, { recursive: true });
    await execa(runtimeBinary(this.name), ["--root", this.stateRoot, "restore", "--detach", "--bundle", bundle, "--image-path", imageDir, "--work-path", workDir, id], { stdio: "ignore" });
  }

  async exec(id: string, args: string[]): Promise<string> {
    return this.cli(["exec", id, ...args]);
  }

  async kill(id: string, signal: string): Promise<void> {
    await this.cli(["kill", id, signal]);
  }

  // The container's state, or null when the runtime does not know it.
  async state(id: string): Promise<ContainerState | null> {
    const r = await execa(runtimeBinary(this.name), ["--root", this.stateRoot, "state", id], { reject: false });
    return r.exitCode === 0 ? (JSON.parse(r.stdout) as ContainerState) : null;
  }

  async forceDelete(id: string): Promise<void> {
    await execa(runtimeBinary(this.name), ["--root", this.stateRoot, "delete", "--force", id], { reject: false });
  }

  // Removes containers left by test processes that no longer exist.
  async sweepStale(): Promise<string[]> {
    if (!existsSync(this.stateRoot)) return [];
    const r = await execa(runtimeBinary(this.name), ["--root", this.stateRoot, "list", "--format", "json"], { reject: false });
    const listed = (JSON.parse(r.stdout.trim() || "null") ?? []) as { id: string }[];
    const stale = listed.map((c) => c.id).filter(isStaleTestResource);
    await Promise.all(stale.map((id) => this.forceDelete(id)));
    return stale;
  }
}
