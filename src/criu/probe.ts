// What the installed CRIU is and what it reports the kernel can do.
import { findExecutable } from "../host/find-executable.ts";
import { probeCommand } from "../host/probe-command.ts";
import { probeInetSockets, type InetSocketProbe } from "./inet-probe.ts";
import { criuErrorLines, parseCriuVersion } from "./version.ts";

// `criu check --feature` names ckpt asks about, and what each one enables.
export const criuFeatures = ["timens", "uffd-noncoop", "mem_dirty_track", "network_lock_nftables"] as const;
export type CriuFeature = (typeof criuFeatures)[number];

export interface CriuFacts {
  // The path the operator asked for with --criu, or null when ckpt looked on PATH.
  requested: string | null;
  path: string | null;
  version: string | null;
  // `criu check`: null when CRIU was not found or could not run.
  check: { ok: boolean; errorLines: string[] } | null;
  // true/false from `criu check --feature F`; null when it could not be asked.
  features: Record<CriuFeature, boolean | null>;
  // Whether this CRIU dumps a process holding inet sockets on the running kernel; null
  // when that could not be tried (no CRIU, the probe helper not built).
  inetSockets: InetSocketProbe | null;
}

export async function probeCriu(explicitPath?: string): Promise<CriuFacts> {
  const noFeatures = Object.fromEntries(criuFeatures.map((f) => [f, null])) as Record<CriuFeature, boolean | null>;
  const requested = explicitPath ?? null;
  const path = findExecutable(explicitPath ?? "criu");
  if (path === null) return { requested, path: null, version: null, check: null, features: noFeatures, inetSockets: null };
  const [inetSockets, versionResult, checkResult, ...featureResults] = await Promise.all([
    probeInetSockets(path),
    probeCommand(path, ["--version"]),
    probeCommand(path, ["check"]),
    ...criuFeatures.map((f) => probeCommand(path, ["check", "--feature", f])),
  ]);
  const features = { ...noFeatures };
  criuFeatures.forEach((f, i) => {
    const r = featureResults[i]!;
    features[f] = r.started && !r.timedOut ? r.exitCode === 0 : null;
  });
  return {
    requested,
    path,
    version: parseCriuVersion(versionResult.stdout),
    check: checkResult.started
      ? { ok: checkResult.exitCode === 0, errorLines: criuErrorLines(`${checkResult.stdout}\n${checkResult.stderr}`) }
      : null,
    features,
    inetSockets,
  };
}
