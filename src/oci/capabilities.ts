// Pure: a process's capability sets as the kernel can grant them. An ambient capability
// must also be permitted and inheritable (capabilities(7)); one that is not cannot be
// raised by any runtime. runc before 1.2 skipped those silently; runc 1.2 and later
// (1.3.6 seen) print "can't raise ambient capability CAP_X" on every run and exec.
// `runc spec` of runc 1.1.x writes such sets (ambient without inheritable), so bundles
// made with it carry them. Dropping those ambient entries changes nothing the process
// gets, and silences the warning.
import type { OciSpec } from "./spec.ts";

export interface RaisableAmbient {
  process: OciSpec["process"];
  // The ambient capabilities dropped, in the spec's order; empty when nothing changed.
  dropped: string[];
}

export function withRaisableAmbient(process: OciSpec["process"]): RaisableAmbient {
  const caps = process.capabilities;
  const ambient = caps?.ambient;
  if (caps == null || ambient == null || ambient.length === 0) return { process, dropped: [] };
  const inheritable = new Set(caps.inheritable ?? []);
  const permitted = new Set(caps.permitted ?? []);
  const kept = ambient.filter((c) => inheritable.has(c) && permitted.has(c));
  if (kept.length === ambient.length) return { process, dropped: [] };
  return { process: { ...process, capabilities: { ...caps, ambient: kept } }, dropped: ambient.filter((c) => !kept.includes(c)) };
}

// The note `-v` shows once, where ckpt changed a spec.
export function ambientNote(dropped: readonly string[]): string {
  return `spec: left out the ambient capabilities ${dropped.join(", ")}: they are not also inheritable and permitted, so the kernel cannot raise them (runc >= 1.2 would warn "can't raise ambient capability" on every exec); the process gets exactly what it got before`;
}
