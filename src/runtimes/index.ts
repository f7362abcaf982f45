// The runtimes ckpt knows, in order of preference, and how to probe what is installed.
import { findExecutable } from "../host/find-executable.ts";
import { probeCommand } from "../host/probe-command.ts";
import { crun } from "./crun.ts";
import { runc } from "./runc.ts";
import type { RuntimeAdapter, RuntimeName } from "./runtime.ts";

export const runtimeAdapters: readonly RuntimeAdapter[] = [runc, crun];

export function runtimeAdapter(name: RuntimeName): RuntimeAdapter {
  const adapter = runtimeAdapters.find((a) => a.name === name);
  if (adapter === undefined) throw new Error(`no adapter for runtime ${name}`);
  return adapter;
}

// Pure: the kind a binary's `--version` output names, or null (also when it names both:
// the first adapter's guess would run a crun as runc, or the other way round).
export function runtimeKindOf(versionOutput: string): RuntimeName | null {
  const kinds = runtimeAdapters.filter((a) => a.parseVersion(versionOutput).version !== null);
  return kinds.length === 1 ? kinds[0]!.name : null;
}

// An installed runtime binary and what its `--version` says.
export interface InstalledRuntime {
  name: RuntimeName;
  // The name it is configured under (the runtimes setting), when not its kind's.
  label?: string | undefined;
  path: string;
  version: string | null;
  checkpointBuilt: boolean;
}

// A runtime the settings name: `path` undefined for a kind looked up on PATH.
export interface ConfiguredRuntime {
  name: string;
  path: string | undefined;
}

// A configured binary that is not a runtime ckpt can use, and why.
export interface UnusableRuntime {
  name: string;
  path: string;
  reason: string;
}

// Every configured runtime, probed once each: a kind without a configured binary is the
// one on PATH (left out when there is none); a configured binary that does not run, or is
// not runc or crun, is unusable.
export async function probeRuntimes(configured: readonly ConfiguredRuntime[] = runtimeAdapters.map((a) => ({ name: a.name, path: undefined }))): Promise<{ installed: InstalledRuntime[]; unusable: UnusableRuntime[] }> {
  const probed = await Promise.all(
    configured.map(async ({ name, path }): Promise<InstalledRuntime | UnusableRuntime | null> => {
      const adapter = path === undefined ? runtimeAdapters.find((a) => a.name === name) : undefined;
      const found = path ?? (adapter === undefined ? null : findExecutable(adapter.binary));
      if (found === null) return null;
      const r = await probeCommand(found, ["--version"]);
      if (!r.started) return { name, path: found, reason: "it cannot be run (missing or not executable)" };
      if (r.timedOut) return { name, path: found, reason: "it did not answer --version in time" };
      const kind = runtimeKindOf(r.stdout);
      if (kind === null) return { name, path: found, reason: `it is not runc or crun (its --version says "${r.stdout.split("\n")[0] ?? ""}")` };
      // An entry named after a kind is used as that kind (a restore's default binary).
      if (name !== kind && runtimeAdapters.some((a) => a.name === name)) return { name, path: found, reason: `it is ${kind}, and an entry named ${name} must be ${name}` };
      return { name: kind, ...(name === kind ? {} : { label: name }), path: found, ...runtimeAdapter(kind).parseVersion(r.stdout) };
    }),
  );
  return {
    installed: probed.filter((r): r is InstalledRuntime => r !== null && !("reason" in r)),
    unusable: probed.filter((r): r is UnusableRuntime => r !== null && "reason" in r),
  };
}
