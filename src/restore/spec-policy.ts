// What an imported checkpoint's spec may ask of this host. Pure: the restore refuses
// every finding unless the operator allows its kind with --allow KIND.
//
// A spec that came with an archive (a migration, podman's or CRI-O's export, anything
// ckpt did not make here) is the sender's: OCI hooks in it are commands the runtime runs
// on the host, as root, before the container exists. They are never run unasked. Bind
// mounts of host paths would give the container the host's files: never unasked either.
import { posix } from "node:path";
import { CkptError, ExitCode } from "../errors.ts";
import { isBindMount, type OciSpec } from "../oci/spec.ts";

export const allowableKinds = ["hooks", "mounts"] as const;
export type AllowableKind = (typeof allowableKinds)[number];

export interface SpecFinding {
  kind: AllowableKind;
  detail: string;
}

const HOOK_PHASES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"];

// `ownRoots`: where a bind mount's source may lie without asking (the container's own root
// filesystem, ckpt's directory of the container with its stand-ins for an engine's files).
export function vetImportedSpec(spec: OciSpec, ownRoots: readonly string[] = []): SpecFinding[] {
  const hooks = (spec as { hooks?: Record<string, unknown> }).hooks;
  const findings: SpecFinding[] = [];
  for (const mount of spec.mounts ?? []) {
    if (!isBindMount(mount) || mount.source === undefined) continue;
    const source = posix.normalize(mount.source);
    const own = ownRoots.some((r) => source === posix.normalize(r) || source.startsWith(`${posix.normalize(r).replace(/\/+$/, "")}/`));
    if (!own) findings.push({ kind: "mounts", detail: `${mount.destination}: a bind mount of this host's ${mount.source}` });
  }
  if (hooks !== undefined && hooks !== null && typeof hooks === "object") {
    for (const [phase, list] of Object.entries(hooks)) {
      if (!Array.isArray(list)) continue;
      list.forEach((hook: { path?: unknown; args?: unknown }, i) => {
        const args = Array.isArray(hook?.args) ? hook.args.map(String).slice(1).join(" ") : "";
        const known = HOOK_PHASES.includes(phase) ? phase : `${phase} (unknown phase)`;
        findings.push({ kind: "hooks", detail: `hooks.${known}[${i}]: ${String(hook?.path ?? "?")}${args === "" ? "" : ` ${args}`}` });
      });
    }
  }
  return findings;
}

// The findings the operator has not allowed.
export function unallowed(findings: SpecFinding[], allow: ReadonlySet<string>): SpecFinding[] {
  return findings.filter((f) => !allow.has(f.kind));
}

// Throws, naming each finding, when the spec asks what `allow` does not let through:
// `refusal` says what is refused, `allowHint` leads the list of --allow flags that would.
export function refuseUnallowedSpec(findings: SpecFinding[], allow: readonly string[], refusal: string, allowHint: string): void {
  const refused = unallowed(findings, new Set(allow));
  if (refused.length === 0) return;
  const kinds = [...new Set(refused.map((f) => f.kind))];
  throw new CkptError(ExitCode.refused, refusal, {
    evidence: refused.map((f) => `${f.kind}: ${f.detail}`),
    hint: `${allowHint} ${kinds.map((k) => `--allow ${k}`).join(" ")}`,
  });
}
