// `ckpt inspect [--json] ARCHIVE|DIR|NAME`
import { formatDurationNs } from "../clock/timespec.ts";
import { openStore } from "../container/context.ts";
import type { GlobalOptions } from "../global-options.ts";
import { inspectCheckpoint, type InspectReport } from "../inspect/inspect.ts";
import { colors } from "../output/color.ts";
import { printJson, sortKeys } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { rfc3339Nano } from "../output/time.ts";
import { describeSignature } from "../signing/archive-signature.ts";
import { trustedKeys } from "../signing/key-store.ts";

export async function inspectCommand(target: string, options: GlobalOptions): Promise<void> {
  const store = openStore(options);
  const trust = await trustedKeys(store.layout, options.settings.trustedKeys.value);
  const report = await inspectCheckpoint(store, target, trust);
  if (options.json) printJson(sortKeys(report));
  else process.stdout.write(`${render(report, options).join("\n")}\n`);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;

function render(r: InspectReport, options: GlobalOptions): string[] {
  const c = colors(options);
  const out: string[] = [];
  const kind = { ckpt: "ckpt checkpoint", podman: "podman/CRI-O checkpoint", "criu-images": "CRIU images" }[r.source.kind];
  out.push(`${c.bold(r.source.path)}: ${kind}`);
  if (r.source.archive !== null) {
    const a = r.source.archive;
    const integrity = a.integrity === "verified" ? c.green("every SHA-256 matches the manifest") : a.integrity === "no-manifest" ? c.yellow("no manifest: integrity unknown") : c.red(`altered: ${a.problems[0] ?? ""}`);
    out.push(`  archive:     ${a.compression ?? "a stream"}, ${a.files} files; ${integrity}`);
    const signature = describeSignature(a.signature);
    out.push(`  signature:   ${a.signature.status === "trusted" ? c.green(signature) : a.signature.status === "invalid" ? c.red(signature) : c.yellow(signature)}`);
  }
  if (r.container !== null) {
    const k = r.container;
    out.push(`  container:   ${k.name} (${k.id.slice(0, 12)})${k.image === null ? "" : `, image ${k.image}`}`);
    if (k.runtimeVersion !== "") out.push(`  made by:     ${k.runtime} ${k.runtimeVersion}, CRIU ${k.criuVersion}, kernel ${k.kernelRelease} on ${k.hostname}`);
    out.push(`  checkpointed ${rfc3339Nano(k.checkpointedAtNs)}`);
  }

  const t = r.timeNamespace;
  out.push("", c.bold("time namespace"));
  if (t.pid1InHostNamespace !== null) out.push(`  PID 1:       ${t.pid1InHostNamespace ? "the host's namespace" : "a namespace of its own"}${t.declared ? " (declared in the spec)" : ""}`);
  else out.push(c.dim("  PID 1:       not recorded (no ckpt manifest); the images follow"));
  if (t.execJoinedBy !== null) out.push(`  exec'd:      kept in PID 1's namespace by ${t.execJoinedBy === "runtime" ? `${r.container?.runtime ?? "the runtime"} ${r.container?.runtimeVersion ?? ""}'s own exec` : "ckpt exec (the runtime's exec would not join it)"}`);
  if (t.pid1OffsetsNs !== null && !t.pid1InHostNamespace) out.push(`  offsets:     monotonic ${formatDurationNs(t.pid1OffsetsNs.monotonic)}, boottime ${formatDurationNs(t.pid1OffsetsNs.boottime)}`);
  if (t.dumpedClocksNs !== null) out.push(`  dumped:      monotonic ${formatDurationNs(t.dumpedClocksNs.monotonic)}, boottime ${formatDurationNs(t.dumpedClocksNs.boottime)}`);
  if (t.hostClocksAtDumpNs !== null) out.push(`  host then:   monotonic ${formatDurationNs(t.hostClocksAtDumpNs.monotonic)}, boottime ${formatDurationNs(t.hostClocksAtDumpNs.boottime)}, realtime ${rfc3339Nano(t.hostClocksAtDumpNs.realtime)}`);
  out.push(`  tasks:       ${t.tasks.map((task) => `${task.pid}:${task.namespaceId ?? "?"}`).join(" ")}  (PID:namespace id; PID 1's is ${t.rootNamespaceId ?? "?"})`);
  out.push(t.warning === null ? c.green("  every task is in PID 1's time namespace") : c.red(`  warning: ${t.warning}`));

  out.push("", c.bold("processes"));
  const rows = [["PID", "PPID", "STATE", "THREADS", "WRITTEN", "AREAS", "MAPPED", "COMMAND"]];
  for (const p of r.processes) {
    rows.push([String(p.pid), String(p.ppid), p.state, String(p.threads), p.memory ? mib(p.memory.bytesWritten) : "-", p.memory ? `${p.memory.areas} (${p.memory.fileAreas} file, ${p.memory.anonymousAreas} anon)` : "-", p.memory ? mib(p.memory.mappedBytes) : "-", p.command]);
  }
  out.push(...renderTable(rows).map((l) => `  ${l}`));
  const files = r.processes.flatMap((p) => p.files.map((f) => [String(p.pid), String(f.fd), f.type, f.target]));
  if (files.length > 0) out.push("", c.bold("open files"), ...renderTable([["PID", "FD", "TYPE", "TARGET"], ...files]).map((l) => `  ${l}`));

  if (r.spec !== null) {
    const s = r.spec;
    out.push("", c.bold("spec (what it asks of a host)"));
    out.push(`  command:     ${s.args.join(" ")}`);
    if (s.envNames.length > 0) out.push(`  environment: ${s.envNames.join(" ")}`);
    out.push(`  hooks:       ${s.hooks.length === 0 ? "none" : s.hooks.join("; ")}`);
    out.push(`  bind mounts: ${s.bindMounts.length === 0 ? "none" : s.bindMounts.map((m) => `${m.destination} <- ${m.source}`).join("; ")}`);
    out.push(`  namespaces:  ${s.namespaces.map((n) => (n.path === null ? n.type : `${n.type}=${n.path}`)).join(" ")}`);
    out.push(`  capabilities (bounding): ${s.capabilities.length === 0 ? "none" : s.capabilities.join(" ")}`);
    if (s.devices > 0) out.push(`  devices:     ${s.devices}`);
    if (s.restart !== null) out.push(`  restart:     ${s.restart}`);
    out.push(s.refusedOnImport.length === 0 ? c.green("  restore --import would take this spec as it is") : c.yellow(`  restore --import refuses unless allowed: ${s.refusedOnImport.map((f) => `${f.kind} (${f.detail})`).join("; ")}`));
  }

  if (r.criuStats !== null) {
    const s = r.criuStats;
    out.push("", c.bold("CRIU statistics"), `  freezing ${ms(s.freezingTimeUs)}, frozen ${ms(s.frozenTimeUs)}, memdump ${ms(s.memdumpTimeUs)}, memwrite ${ms(s.memwriteTimeUs)}; pages scanned ${s.pagesScanned}, written ${s.pagesWritten}`);
  }
  return out;
}
