import assert from "node:assert/strict";
import { createHash, generateKeyPairSync } from "node:crypto";
import { describe, test } from "node:test";
import { checkSignature, fingerprintHex, fingerprintOf, rawPublicKey, shortFingerprint, SignatureEntrySchema, signingKeyFromPem, signManifest, type SigningKey } from "./signature.ts";

function newKey(name: string): SigningKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  return signingKeyFromPem(name, privateKey.export({ type: "pkcs8", format: "pem" }).toString());
}

const manifest = Buffer.from(`${JSON.stringify({ formatVersion: 1, files: [{ path: "spec.dump", size: 10, sha256: "a".repeat(64) }] }, null, 2)}\n`);
const entryText = (o: unknown) => `${JSON.stringify(o, null, 2)}\n`;

describe("manifest signatures", () => {
  test("a signature made here verifies against the same bytes, and names its key", () => {
    const key = newKey("host-a");
    const entry = signManifest(manifest, key);
    const check = checkSignature(manifest, entryText(entry));
    assert.equal(check.ok, true);
    assert.equal(check.entry?.keyFingerprint, key.fingerprint);
    assert.equal(check.entry?.keyName, "host-a");
    assert.ok(entryText(entry).length < 600, "the entry is small");
  });

  test("attack: one changed byte of the manifest (a recomputed digest) fails the signature", () => {
    const key = newKey("host-a");
    const entry = signManifest(manifest, key);
    const changed = Buffer.from(manifest);
    changed[changed.indexOf("a".charCodeAt(0), 40)] = "b".charCodeAt(0);
    const check = checkSignature(changed, entryText(entry));
    assert.equal(check.ok, false);
    assert.match(check.ok ? "" : check.reason, /does not match the manifest: the manifest was changed after it was signed/);
  });

  test("attack: a signature by another key, relabelled with the trusted key's fingerprint and public key, fails", () => {
    const trusted = newKey("trusted");
    const attacker = newKey("attacker");
    const forged = { ...signManifest(manifest, attacker), keyFingerprint: trusted.fingerprint, keyName: "trusted", publicKey: rawPublicKey(trusted.publicKey).toString("base64") };
    assert.equal(checkSignature(manifest, entryText(forged)).ok, false);
  });

  test("attack: the trusted key's fingerprint with the attacker's own public key is refused (the fingerprint must be the key's)", () => {
    const trusted = newKey("trusted");
    const attacker = newKey("attacker");
    const forged = { ...signManifest(manifest, attacker), keyFingerprint: trusted.fingerprint };
    const check = checkSignature(manifest, entryText(forged));
    assert.equal(check.ok, false);
    assert.match(check.ok ? "" : check.reason, /names the key .* but carries the key/);
  });

  test("fingerprint: SHA256: and the unpadded base64 of the SHA-256 of the raw 32-byte key, as OpenSSH writes them; short form and hex", () => {
    const raw = Buffer.alloc(32, 7);
    const fp = fingerprintOf(raw);
    assert.equal(fp, `SHA256:${createHash("sha256").update(raw).digest("base64").replace(/=+$/, "")}`);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(shortFingerprint(fp), fp.slice(0, 19));
    assert.equal(fingerprintHex(fp), createHash("sha256").update(raw).digest("hex"));
    const key = newKey("k");
    assert.equal(rawPublicKey(key.publicKey).length, 32);
    assert.equal(key.fingerprint, fingerprintOf(rawPublicKey(key.publicKey)));
  });

  test("malformed signature entries are refused by the schema and reported, never thrown", () => {
    const good = signManifest(manifest, newKey("k"));
    const bad: unknown[] = [
      { ...good, algorithm: "rsa" },
      { ...good, signature: "not base64!" },
      { ...good, signature: Buffer.alloc(63).toString("base64") },
      { ...good, publicKey: Buffer.alloc(31).toString("base64") },
      { ...good, keyFingerprint: "MD5:aa" },
      { ...good, keyName: "../../etc/passwd" },
      { ...good, keyName: "x".repeat(65) },
      { ...good, extra: true },
      { ...good, formatVersion: 2 },
      (({ signature: _s, ...rest }) => rest)(good),
      [],
      null,
    ];
    for (const b of bad) {
      assert.equal(SignatureEntrySchema.safeParse(b).success, false, JSON.stringify(b));
      const check = checkSignature(manifest, JSON.stringify(b));
      assert.equal(check.ok, false);
    }
    const notJson = checkSignature(manifest, "{");
    assert.match(notJson.ok ? "" : notJson.reason, /is not JSON/);
  });
});
