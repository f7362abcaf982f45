// The signature of an unpacked checkpoint archive, judged against the keys this host
// trusts: what restore --import and inspect report, and what the import refuses.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MANIFEST_JSON } from "../checkpoint/manifest.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { TrustedKey } from "./key-store.ts";
import { checkSignature, SIGNATURE_ENTRY } from "./signature.ts";
import { decideSignature, type SignatureStatus } from "./trust.ts";

export interface SignatureReport {
  status: SignatureStatus;
  // The signer's key; its name is this host's for a trusted key, else the signer's claim.
  fingerprint: string | null;
  name: string | null;
  // Whether the signature matches the manifest (null: unsigned, or not checked).
  valid: boolean | null;
  // Why it is invalid.
  reason: string | null;
}

// `digestsVerified`: every file was checked against the manifest (not with --no-verify).
export async function judgeArchiveSignature(dir: string, trust: ReadonlyMap<string, TrustedKey>, digestsVerified: boolean): Promise<SignatureReport> {
  const entryText = await readFile(join(dir, SIGNATURE_ENTRY), "utf8").catch(() => null);
  if (entryText === null) return { ...decideSignature({ present: false, valid: false, keyTrusted: false, digestsVerified }), fingerprint: null, name: null, valid: null, reason: null };
  const manifest = await readFile(join(dir, MANIFEST_JSON)).catch(() => null);
  const check = manifest === null ? { ok: false as const, reason: `a ${SIGNATURE_ENTRY} without a ${MANIFEST_JSON}`, entry: null } : checkSignature(manifest, entryText);
  const trusted = check.entry === null ? undefined : trust.get(check.entry.keyFingerprint);
  const decision = decideSignature({ present: true, valid: check.ok, keyTrusted: trusted !== undefined, digestsVerified });
  return {
    status: decision.status,
    fingerprint: check.entry?.keyFingerprint ?? null,
    name: trusted?.name ?? check.entry?.keyName ?? null,
    valid: decision.status === "not-verified" ? null : check.ok,
    reason: check.ok ? null : check.reason,
  };
}

// The import stops here on an invalid signature: nothing is restored.
export function refuseInvalidSignature(report: SignatureReport, label: string): void {
  if (report.status === "invalid") {
    throw new CkptError(ExitCode.badCheckpoint, `refusing ${label}: its signature is invalid: ${report.reason ?? "unknown"}`, {
      evidence: ["attack: a signed manifest changed, or a damaged signature"],
      hint: "nothing was restored; the archive was altered after it was signed. Export it again from its source",
    });
  }
}

// One line for people: who signed it and what that means here.
export function describeSignature(r: SignatureReport): string {
  const who = `${r.name ?? "?"} (${r.fingerprint ?? "?"})`;
  switch (r.status) {
    case "trusted":
      return `signed by ${who}, trusted`;
    case "untrusted":
      return `signed by an untrusted key ${who}; its spec goes through the import policy; trust it with: ckpt keys trust ${r.fingerprint ?? "FINGERPRINT"} --name ${r.name ?? "NAME"}`;
    case "unsigned":
      return "unsigned: treated as a foreign checkpoint";
    case "not-verified":
      return `${r.fingerprint === null ? "signed" : `signed by ${who}`}, but its files were not verified against the manifest: treated as a foreign checkpoint`;
    case "invalid":
      return `invalid signature: ${r.reason ?? "unknown"}`;
  }
}
