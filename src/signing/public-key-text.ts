// A public key as text another host can be given: one line (`ckpt-ed25519 BASE64 NAME`,
// easy to paste or keep in a config file) or PEM (what openssl reads).
import { createPublicKey } from "node:crypto";
import { KEY_NAME_PATTERN, publicKeyFromRaw, rawPublicKey } from "./signature.ts";

export const KEY_LINE_TYPE = "ckpt-ed25519";

export function publicKeyLine(raw: Buffer, name: string): string {
  return `${KEY_LINE_TYPE} ${raw.toString("base64")} ${name}`;
}

export function publicKeyPem(raw: Buffer): string {
  return publicKeyFromRaw(raw).export({ type: "spki", format: "pem" }).toString();
}

export interface ParsedPublicKey {
  raw: Buffer;
  // The name the line carries; PEM carries none.
  name: string | null;
}

// Pure: the key in `text` (either form), or why it is not one.
export function parsePublicKeyText(text: string): ParsedPublicKey | { error: string } {
  const trimmed = text.trim();
  if (trimmed.startsWith(KEY_LINE_TYPE)) {
    const [, key = "", name, ...rest] = trimmed.split(/\s+/);
    if (rest.length > 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) return { error: `not a ${KEY_LINE_TYPE} line (${KEY_LINE_TYPE} BASE64 [NAME])` };
    const raw = Buffer.from(key, "base64");
    if (raw.length !== 32) return { error: `an Ed25519 public key has 32 bytes, this one ${raw.length}` };
    if (name !== undefined && !KEY_NAME_PATTERN.test(name)) return { error: `"${name}" is not a key name (letters, digits, '.', '_', '-', at most 64)` };
    return { raw, name: name ?? null };
  }
  if (trimmed.includes("-----BEGIN PUBLIC KEY-----")) {
    try {
      return { raw: rawPublicKey(createPublicKey(trimmed)), name: null };
    } catch (error) {
      return { error: `not an Ed25519 public key in PEM: ${(error as Error).message}` };
    }
  }
  return { error: `neither a ${KEY_LINE_TYPE} line nor a PEM public key` };
}
