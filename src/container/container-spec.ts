// Plans the config.json ckpt gives the runtime, from the user's bundle. Pure.
import { isAbsolute, resolve } from "node:path";
import { BUNDLE_CRIU_CONFIG_ANNOTATION, CRIU_CONFIG_ANNOTATION, declaresTimeNamespace, type OciSpec } from "../oci/spec.ts";
import { resolveBindDestinations } from "./bind-mounts.ts";
import { ambientNote, withRaisableAmbient } from "../oci/capabilities.ts";
import type { ReadLinkInRoot } from "./path-in-root.ts";

export interface ContainerSpecRequest {
  // The user's bundle directory: a relative root.path is resolved against it.
  sourceBundle: string;
  // Replaces process.args when given.
  command: string[] | undefined;
  criuConfigPath: string;
  // The runtime and kernel can give the container a time namespace of its own.
  timeNamespaceAvailable: boolean;
  // Joins the runtime cannot make beside a new time namespace (its adapter's words).
  timeNamespaceBreaksJoining?: { runtime: string; types: readonly string[] };
  // The lookup of symbolic links in the root filesystem, to resolve bind-mount destinations.
  linksIn?: (rootfs: string) => ReadLinkInRoot;
}

export interface PlannedSpec {
  spec: OciSpec;
  rootfs: string;
  ownTimeNamespace: boolean;
  warnings: string[];
  // What ckpt changed that needs no action, said with -v.
  notes: string[];
}

export function planContainerSpec(source: OciSpec, request: ContainerSpecRequest): PlannedSpec {
  const spec = structuredClone(source);
  const warnings: string[] = [];
  const notes: string[] = [];
  const rootfs = isAbsolute(spec.root.path) ? spec.root.path : resolve(request.sourceBundle, spec.root.path);
  spec.root.path = rootfs;
  if (request.command !== undefined && request.command.length > 0) spec.process.args = [...request.command];
  if (spec.process.terminal) {
    // CRIU cannot dump a container whose terminal lives outside it; the monitor's pipes can.
    warnings.push("process.terminal is true in the bundle: ckpt runs the container on pipes, so that it can be checkpointed");
    spec.process.terminal = false;
  }
  const ambient = withRaisableAmbient(spec.process);
  if (ambient.dropped.length > 0) {
    spec.process = ambient.process;
    notes.push(ambientNote(ambient.dropped));
  }
  // runc and crun read extra CRIU options from this file; ckpt writes it for each dump
  // and restore, merging the bundle's own file (its name kept for the record) into it.
  const bundleCriuConfig = spec.annotations?.[CRIU_CONFIG_ANNOTATION];
  spec.annotations = { ...spec.annotations, [CRIU_CONFIG_ANNOTATION]: request.criuConfigPath, ...(bundleCriuConfig === undefined ? {} : { [BUNDLE_CRIU_CONFIG_ANNOTATION]: bundleCriuConfig }) };
  let ownTimeNamespace = declaresTimeNamespace(spec);
  if (!ownTimeNamespace && request.timeNamespaceAvailable && !(spec.linux?.namespaces ?? []).some((ns) => ns.type === "time")) {
    const broken = timeNamespaceBreaksJoin(spec, request.timeNamespaceBreaksJoining);
    if (broken === null) {
      spec.linux = { ...spec.linux, namespaces: [...(spec.linux?.namespaces ?? []), { type: "time" }] };
      ownTimeNamespace = true;
    } else {
      warnings.push(broken);
    }
  }
  const withMounts = request.linksIn === undefined ? spec : resolveBindDestinations(spec, request.linksIn(rootfs)).spec;
  return { spec: withMounts, rootfs, ownTimeNamespace, warnings, notes };
}

// Why the container gets no time namespace of its own, when a join the spec asks for
// would break beside one; null when nothing would.
function timeNamespaceBreaksJoin(spec: OciSpec, breaks: ContainerSpecRequest["timeNamespaceBreaksJoining"]): string | null {
  const joined = (spec.linux?.namespaces ?? []).find((ns) => ns.path !== undefined && (breaks?.types ?? []).includes(ns.type));
  if (joined === undefined || breaks === undefined) return null;
  return `the spec joins the ${joined.type} namespace at ${joined.path}, which ${breaks.runtime} cannot do in a container with a time namespace of its own: ckpt gives this container none: it reads the host's clocks`;
}

// The spec a restore hands the runtime: PID 1 joins `joinTimeNamespace` when given (for
// runtimes that take it from the spec), and no stale namespace path from an earlier
// restore is kept.
export function specForRestore(spec: OciSpec, criuConfigPath: string, joinTimeNamespace: string | null): OciSpec {
  const out = structuredClone(spec);
  // A checkpoint's spec from before ckpt did this at run, or from another engine.
  out.process = withRaisableAmbient(out.process).process;
  out.annotations = { ...out.annotations, [CRIU_CONFIG_ANNOTATION]: criuConfigPath };
  const namespaces = (out.linux?.namespaces ?? []).filter((ns) => ns.type !== "time" || ns.path === undefined || joinTimeNamespace !== null);
  const time = namespaces.find((ns) => ns.type === "time");
  if (joinTimeNamespace !== null) {
    if (time) time.path = joinTimeNamespace;
    else namespaces.push({ type: "time", path: joinTimeNamespace });
  }
  if (out.linux !== undefined || namespaces.length > 0) out.linux = { ...out.linux, namespaces };
  return out;
}

// The spec as the running container keeps it: without a time namespace path that only
// meant something during the restore.
export function specAfterRestore(spec: OciSpec, ownTimeNamespaceAtCreate: boolean): OciSpec {
  const out = structuredClone(spec);
  if (out.linux?.namespaces) {
    out.linux.namespaces = out.linux.namespaces
      .filter((ns) => ns.type !== "time" || ownTimeNamespaceAtCreate)
      .map((ns) => (ns.type === "time" ? { type: "time" } : ns));
  }
  return out;
}

// The spec for a runtime that knows no time namespaces (runc < 1.2 rejects {"type":
// "time"} with 'namespace {"time" ""} does not exist'): a checkpoint made under a newer
// runtime, whose container got a time namespace at creation, restored by it. CRIU still
// restores PID 1 into a time namespace of its own (or the one ckpt's plan names through
// join-ns), so the container keeps its clocks.
export function withoutTimeNamespace(spec: OciSpec): OciSpec {
  if (!(spec.linux?.namespaces ?? []).some((ns) => ns.type === "time") && spec.linux?.timeOffsets === undefined) return spec;
  const out = structuredClone(spec);
  const { timeOffsets: _dropped, ...linux } = out.linux!;
  out.linux = { ...linux, namespaces: (linux.namespaces ?? []).filter((ns) => ns.type !== "time") };
  return out;
}
