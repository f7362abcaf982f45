// The operator's CRIU configuration, kept when ckpt names its own file in org.criu.config:
// the bundle's own org.criu.config file (read once, at `run`, from the operator's bundle,
// and copied beside the container, so it travels with every checkpoint) and the runtime's
// default file on this host (/etc/criu/runc.conf for runc), which the runtime no longer
// reads once the annotation is set. ckpt merges them with its own options for each dump
// and restore (criu-config-merge.ts) and writes the result to the file it names.
//
// A path named by a checkpoint's spec is never read: it names a file on the host the
// checkpoint came from. Only the copy that travels in the checkpoint is.
import { existsSync } from "node:fs";
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { BUNDLE_CRIU_CONFIG_ANNOTATION, CRIU_CONFIG_ANNOTATION, type OciSpec } from "../oci/spec.ts";
import { CRIU_CONFIG_FILE_ENV, type RuntimeAdapter, type RuntimeCriuConfig } from "../runtimes/runtime.ts";
import type { StoreLayout } from "../store/layout.ts";
import { booleanSetting, describeOption, parseCriuConfig, renderCriuConfig, type CriuConfigOption, type CriuConfigProblem } from "./criu-config.ts";
import { describeOverride, mergeCriuConfig, type CriuPhase, type OperatorCriuConfig, type OwnCriuOption } from "./criu-config-merge.ts";
import { criuOptionName, dumpOptionNames, type DumpOptionName, type DumpOptions } from "./dump-options.ts";

export interface CapturedBundleConfig {
  // The bundle's org.criu.config value, or undefined when it has none.
  annotation: string | undefined;
  warnings: string[];
}

// At `run`: copies the file the bundle's org.criu.config names (relative to the bundle)
// to `copyPath`. A file that cannot be read is left out, as CRIU itself would.
export async function captureBundleCriuConfig(source: OciSpec, sourceBundle: string, copyPath: string): Promise<CapturedBundleConfig> {
  await rm(copyPath, { force: true });
  const annotation = source.annotations?.[CRIU_CONFIG_ANNOTATION];
  if (annotation === undefined || annotation === "") return { annotation, warnings: [] };
  const path = resolve(sourceBundle, annotation);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return { annotation, warnings: [`the bundle's org.criu.config names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): CRIU would go on without it, and so does ckpt`] };
  }
  await writeFile(copyPath, text, { mode: 0o600 });
  return { annotation, warnings: parseCriuConfig(text, path).problems.map(describeProblem) };
}

// Pure: the operator's files for one CRIU run, in the order CRIU reads them (a later
// setting wins): the runtime's default file on this host, then the bundle's own. An
// empty org.criu.config in the bundle turns the default file off, as it does for runc.
export function operatorConfigFiles(input: { bundleAnnotation: string | undefined; bundleCopy: string | null; runtimeDefault: string | null; runtime: string }): { label: string; path: string }[] {
  const files: { label: string; path: string }[] = [];
  if (input.bundleAnnotation !== "" && input.runtimeDefault !== null) files.push({ label: `${input.runtime}'s default CRIU config`, path: input.runtimeDefault });
  if (input.bundleAnnotation && input.bundleCopy !== null) files.push({ label: `the bundle's CRIU config (org.criu.config ${input.bundleAnnotation})`, path: input.bundleCopy });
  return files;
}

export interface CriuConfigReport {
  // The file ckpt names in org.criu.config.
  path: string;
  phase: CriuPhase;
  // Whether CRIU reads it, and how: named by org.criu.config, after the runtime's own
  // options (runc; crun from 1.26), or by CRIU_CONFIG_FILE, before them (crun 1.21).
  readByRuntime: boolean;
  via: RuntimeCriuConfig["via"] | null;
  // The operator's files merged into it.
  files: { label: string; path: string }[];
  options: string[];
  overrides: string[];
  setAside: string[];
  problems: string[];
}

export interface WrittenCriuConfig {
  report: CriuConfigReport;
  // The dump options in effect: what the file sets, or ckpt's own when it is not read.
  effective: DumpOptions;
  // What the command should print.
  warnings: string[];
  // The environment the runtime must run with for CRIU to read the file ("environment").
  env: Record<string, string>;
}

export interface CriuConfigRequest {
  path: string;
  phase: CriuPhase;
  runtime: string;
  // The runtime's configuration behaviour at its version (RuntimeAdapter.criuConfig).
  runtimeConfig: RuntimeCriuConfig | null;
  bundleAnnotation: string | undefined;
  bundleCopy: string;
  own: OwnCriuOption[];
}

// What to merge into container NAME's file: ckpt's spec of it says whether the bundle
// had a file of its own (its copy is beside the container) or turned the default off.
export function containerCriuConfig(layout: StoreLayout, name: string, spec: OciSpec, runtime: { adapter: RuntimeAdapter; version: string }, phase: CriuPhase, own: OwnCriuOption[]): CriuConfigRequest {
  return {
    path: layout.criuConfig(name),
    phase,
    runtime: runtime.adapter.name,
    runtimeConfig: runtime.adapter.criuConfig(runtime.version),
    bundleAnnotation: spec.annotations?.[BUNDLE_CRIU_CONFIG_ANNOTATION],
    bundleCopy: layout.bundleCriuConfig(name),
    own,
  };
}

// Merges and writes the file ckpt names in org.criu.config, for a dump or a restore.
export async function writeCriuConfig(request: CriuConfigRequest): Promise<WrittenCriuConfig> {
  const runtimeDefault = request.runtimeConfig?.defaults.find((p) => existsSync(p)) ?? null;
  const files = operatorConfigFiles({ bundleAnnotation: request.bundleAnnotation, bundleCopy: existsSync(request.bundleCopy) ? request.bundleCopy : null, runtimeDefault, runtime: request.runtime });
  const operator: OperatorCriuConfig[] = [];
  const problems: CriuConfigProblem[] = [];
  for (const f of files) {
    const text = await readFile(f.path, "utf8").catch(() => null);
    if (text === null) continue;
    const parsed = parseCriuConfig(text, f.path);
    operator.push({ ...f, options: parsed.options });
    problems.push(...parsed.problems);
  }
  const via = request.runtimeConfig?.via ?? null;
  const readByRuntime = via !== null;
  const merged = mergeCriuConfig(readByRuntime ? operator : [], request.own, request.phase, { runtime: request.runtime, names: request.runtimeConfig?.runtimeSets ?? [] });
  await writeFile(request.path, renderCriuConfig(merged.options), { mode: 0o600 });
  const warnings = [...merged.overrides.map(describeOverride), ...problems.map(describeProblem)];
  if (!readByRuntime && operator.some((f) => f.options.length > 0)) {
    warnings.push(`${request.runtime} at this version lets CRIU read no configuration file: the options in ${operator.map((f) => f.path).join(" and ")} are not in effect`);
  }
  return {
    report: {
      path: request.path,
      phase: request.phase,
      readByRuntime,
      via,
      files: readByRuntime ? files : [],
      options: merged.options.map(describeOption),
      overrides: merged.overrides.map(describeOverride),
      setAside: merged.setAside.map((s) => `\`${describeOption(s.option)}\` from ${s.label}: ${s.why}`),
      problems: problems.map(describeProblem),
    },
    effective: effectiveDumpOptions(readByRuntime ? merged.options : request.own),
    warnings,
    env: via === "environment" ? { [CRIU_CONFIG_FILE_ENV]: request.path } : {},
  };
}

// Pure: the dump options a configuration sets (CRIU applies its lines in order).
export function effectiveDumpOptions(options: readonly Pick<CriuConfigOption, "name">[]): DumpOptions {
  return Object.fromEntries(dumpOptionNames.map((n) => [n, booleanSetting(options, criuOptionName[n]) ?? false])) as DumpOptions;
}

// Pure: ckpt's own options for the file: the dump options it gives (each ruling out its
// opposite), and for a restore the time namespace PID 1 joins.
export function ownCriuOptions(options: DumpOptions, why: (option: DumpOptionName) => string, joinTimeNamespace: string | null = null): OwnCriuOption[] {
  const own: OwnCriuOption[] = [];
  if (options.fileLocks) own.push({ name: "file-locks", value: null, why: why("fileLocks") });
  if (options.tcpClose) own.push({ name: "tcp-close", value: null, why: why("tcpClose"), excludes: ["tcp-established"] });
  else if (options.tcpEstablished) own.push({ name: "tcp-established", value: null, why: why("tcpEstablished"), excludes: ["tcp-close"] });
  if (joinTimeNamespace !== null) own.push({ name: "join-ns", value: `time:${joinTimeNamespace}`, why: "ckpt puts the restored PID 1 on the clocks it planned (--time-mode)" });
  return own;
}

// Pure: a checkpoint another tool made may name a CRIU configuration file of the host it
// came from; ckpt reads no such path, and says so.
export function foreignCriuConfigWarning(spec: OciSpec, kind: "ckpt" | "podman" | "criu-images"): string | null {
  const named = spec.annotations?.[CRIU_CONFIG_ANNOTATION];
  if (kind === "ckpt" || named === undefined || named === "") return null;
  return `the checkpoint's spec names the CRIU configuration file ${named} (org.criu.config), a file of the host it was made on: ckpt does not read files a checkpoint names, so its options are not in effect here`;
}

// Copies the bundle's configuration between a container and a checkpoint, when there is one.
export async function copyBundleCriuConfig(from: string, to: string): Promise<void> {
  await rm(to, { force: true });
  if (existsSync(from)) await copyFile(from, to);
}

function describeProblem(p: CriuConfigProblem): string {
  return `${p.file}:${p.line}: CRIU would refuse \`${p.text}\` (${p.reason}); ckpt leaves it out`;
}
