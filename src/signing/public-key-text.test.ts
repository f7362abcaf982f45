import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePublicKeyText, publicKeyLine, publicKeyPem } from "./public-key-text.ts";

const raw = Buffer.alloc(32, 3);

test("a public key round-trips through its one-line and PEM forms", () => {
  assert.deepEqual(parsePublicKeyText(`${publicKeyLine(raw, "host-a")}\n`), { raw, name: "host-a" });
  assert.deepEqual(parsePublicKeyText(publicKeyLine(raw, "host-a").replace(/ host-a$/, "")), { raw, name: null });
  assert.deepEqual(parsePublicKeyText(publicKeyPem(raw)), { raw, name: null });
});

test("what is not one Ed25519 public key is refused with a reason", () => {
  for (const text of ["", "ssh-ed25519 AAAA", `ckpt-ed25519 ${Buffer.alloc(31).toString("base64")} x`, `ckpt-ed25519 ${raw.toString("base64")} ../x`, `ckpt-ed25519 ${raw.toString("base64")} a b`, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"]) {
    assert.ok("error" in parsePublicKeyText(text), text);
  }
});
