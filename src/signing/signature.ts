// Ed25519 signatures of a checkpoint archive's manifest. The manifest lists the SHA-256 of
// every other file in the archive, so a signature over its exact bytes covers them all.
// The signature travels as a small entry of its own (manifest.sig), written right after
// the manifest and not listed in it.
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { z } from "zod";

export const SIGNATURE_ENTRY = "manifest.sig";
// A signature entry is a few hundred bytes; anything much larger is not one.
export const SIGNATURE_MAX_BYTES = 4096;

// Signed: this prefix, then the manifest's bytes. The key signs nothing else that could
// be mistaken for a manifest (another use of the same key signs another prefix).
const CONTEXT = Buffer.from("ckpt manifest signature v1\0");

// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw key follows.
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const RAW_KEY_BYTES = 32;

const base64Of = (bytes: number) => z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, "base64").refine((s) => Buffer.from(s, "base64").length === bytes, `${bytes} bytes in base64`);

export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const KeyNameSchema = z.string().regex(KEY_NAME_PATTERN, "a key name: letters, digits, '.', '_', '-', at most 64");
export const FingerprintSchema = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "SHA256: and 43 base64 digits");

export const SignatureEntrySchema = z
  .object({
    formatVersion: z.literal(1),
    algorithm: z.literal("ed25519"),
    // What was signed: the manifest entry, byte for byte.
    signed: z.literal("manifest.json"),
    keyFingerprint: FingerprintSchema,
    // The signer's own name for its key; a receiver that trusts the key uses its own.
    keyName: KeyNameSchema,
    // The raw 32-byte public key, so that a receiver can name a signer it does not know.
    publicKey: base64Of(RAW_KEY_BYTES),
    signature: base64Of(64),
  })
  .strict();
export type SignatureEntry = z.infer<typeof SignatureEntrySchema>;

export interface SigningKey {
  name: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  fingerprint: string;
}

// The raw 32 bytes of an Ed25519 public key.
export function rawPublicKey(key: KeyObject): Buffer {
  const der = key.export({ type: "spki", format: "der" });
  if (key.asymmetricKeyType !== "ed25519" || der.length !== SPKI_PREFIX.length + RAW_KEY_BYTES) throw new Error(`not an Ed25519 public key (${key.asymmetricKeyType ?? "?"})`);
  return der.subarray(SPKI_PREFIX.length);
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  if (raw.length !== RAW_KEY_BYTES) throw new Error(`an Ed25519 public key has ${RAW_KEY_BYTES} bytes, not ${raw.length}`);
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
}

// `SHA256:` and the unpadded base64 of the SHA-256 of the raw public key (as OpenSSH writes them).
export function fingerprintOf(raw: Buffer): string {
  return `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`;
}

// The first 12 digits: enough for a person to tell keys apart; the full form decides.
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, "SHA256:".length + 12);
}

// The fingerprint in hex (file names: base64 has '/').
export function fingerprintHex(fingerprint: string): string {
  return Buffer.from(fingerprint.slice("SHA256:".length), "base64").toString("hex");
}

export function signingKeyFromPem(name: string, pem: string): SigningKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== "ed25519") throw new Error(`not an Ed25519 private key (${privateKey.asymmetricKeyType ?? "?"})`);
  const publicKey = createPublicKey(privateKey);
  return { name, privateKey, publicKey, fingerprint: fingerprintOf(rawPublicKey(publicKey)) };
}

// The signature entry for a manifest's exact bytes.
export function signManifest(manifestBytes: Buffer, key: SigningKey): SignatureEntry {
  return {
    formatVersion: 1,
    algorithm: "ed25519",
    signed: "manifest.json",
    keyFingerprint: key.fingerprint,
    keyName: key.name,
    publicKey: rawPublicKey(key.publicKey).toString("base64"),
    signature: sign(null, Buffer.concat([CONTEXT, manifestBytes]), key.privateKey).toString("base64"),
  };
}

export type SignatureCheck =
  | { ok: true; entry: SignatureEntry }
  | { ok: false; reason: string; entry: SignatureEntry | null };

// Pure: whether `entryText` (a manifest.sig) is a well-formed signature of `manifestBytes`
// by the key it names. Whether that key is trusted is decided elsewhere (trust.ts).
export function checkSignature(manifestBytes: Buffer, entryText: string): SignatureCheck {
  let json: unknown;
  try {
    json = JSON.parse(entryText);
  } catch {
    return { ok: false, reason: `${SIGNATURE_ENTRY} is not JSON`, entry: null };
  }
  const parsed = SignatureEntrySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${SIGNATURE_ENTRY} is malformed: ${issue?.path.join(".") || "(top)"}: ${issue?.message ?? "invalid"}`, entry: null };
  }
  const entry = parsed.data;
  const raw = Buffer.from(entry.publicKey, "base64");
  // The fingerprint is what trust is decided on: it must be the key's own.
  if (fingerprintOf(raw) !== entry.keyFingerprint) return { ok: false, reason: `${SIGNATURE_ENTRY} names the key ${entry.keyFingerprint} but carries the key ${fingerprintOf(raw)}`, entry };
  const valid = verify(null, Buffer.concat([CONTEXT, manifestBytes]), publicKeyFromRaw(raw), Buffer.from(entry.signature, "base64"));
  return valid ? { ok: true, entry } : { ok: false, reason: `the signature by ${entry.keyName} (${entry.keyFingerprint}) does not match the manifest: the manifest was changed after it was signed`, entry };
}
