// What a checkpoint archive's signature makes of it here. Pure: the import refuses an
// invalid signature, and only a "trusted" checkpoint skips the import policy.
export type SignatureStatus =
  // Valid, by a key this host trusts, and every file checked against the manifest.
  | "trusted"
  // Valid, by a key this host does not trust: a foreign checkpoint.
  | "untrusted"
  // No signature: a foreign checkpoint.
  | "unsigned"
  // Present but not a valid signature of this manifest: refused.
  | "invalid"
  // --no-verify: the files were not checked against the manifest, so a signature of the
  // manifest proves nothing about them: a foreign checkpoint, whatever the signature.
  | "not-verified";

export interface SignatureFacts {
  present: boolean;
  // The signature entry is well formed and matches the manifest's bytes.
  valid: boolean;
  keyTrusted: boolean;
  // Every file was checked against the manifest's SHA-256s.
  digestsVerified: boolean;
}

export interface SignatureDecision {
  status: SignatureStatus;
  // The checkpoint is as trusted as one made here (restore's trustedSigner).
  trusted: boolean;
  // The import must stop here: exit 8, nothing restored.
  refuse: boolean;
}

export function decideSignature(facts: SignatureFacts): SignatureDecision {
  if (!facts.present) return { status: "unsigned", trusted: false, refuse: false };
  if (!facts.digestsVerified) return { status: "not-verified", trusted: false, refuse: false };
  if (!facts.valid) return { status: "invalid", trusted: false, refuse: true };
  if (facts.keyTrusted) return { status: "trusted", trusted: true, refuse: false };
  return { status: "untrusted", trusted: false, refuse: false };
}

// Which of this host's signing keys an export uses: `requested` is --sign NAME (a name),
// --no-sign (false) or neither. Pure; null means the archive goes unsigned.
export function chooseSigningKey(names: readonly string[], requested: string | false | undefined, hostname: string): { name: string | null } | { error: string } {
  if (requested === false) return { name: null };
  if (requested !== undefined) return names.includes(requested) ? { name: requested } : { error: `no signing key named "${requested}" here${names.length === 0 ? "" : ` (there are: ${names.join(", ")})`}` };
  if (names.length === 0) return { name: null };
  if (names.length === 1) return { name: names[0]! };
  if (names.includes(hostname)) return { name: hostname };
  return { error: `there are several signing keys (${names.join(", ")}) and none is named after this host (${hostname})` };
}
