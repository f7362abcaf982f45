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

// An installed runtime binary and what its `--version` says.
export interface InstalledRuntime {
  name: RuntimeName;
  path: string;
  version: string | null;
  checkpointBuilt: boolean;
}

// Every known runtime found on this host, probed once each.
export async function probeRuntimes(): Promise<InstalledRuntime[]> {
  const found = runtimeAdapters.flatMap((adapter) => {
    const path = findExecutable(adapter.binary);
    return path === null ? [] : [{ adapter, path }];
  });
  return Promise.all(
    found.map(async ({ adapter, path }) => {
      const r = await probeCommand(path, ["--version"]);
      return { name: adapter.name, path, ...adapter.parseVersion(r.stdout) };
    }),
  );
}
