import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { StoreLayout } from "../store/layout.ts";
import { generateSigningKey, loadSigningKey, selectSigningKey, trustedKeys, trustKey, untrustKey } from "./key-store.ts";
import { publicKeyLine } from "./public-key-text.ts";
import { fingerprintOf, rawPublicKey } from "./signature.ts";

async function withRoot(body: (layout: StoreLayout, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "ckpt-keys-test-"));
  try {
    await body(new StoreLayout(dir), dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("generate: a private key 0600 in a 0700 directory, trusted at once; never replaced without force", () =>
  withRoot(async (layout) => {
    const { key, replaced } = await generateSigningKey(layout, "host-a", false);
    assert.equal(replaced, null);
    assert.equal((await stat(layout.signingKey("host-a"))).mode & 0o777, 0o600);
    assert.equal((await stat(layout.keysDir())).mode & 0o777, 0o700);
    assert.equal((await loadSigningKey(layout, "host-a")).fingerprint, key.fingerprint);
    assert.equal((await trustedKeys(layout, [])).get(key.fingerprint)?.name, "host-a");
    await assert.rejects(generateSigningKey(layout, "host-a", false), /a signing key named "host-a" exists/);
    const again = await generateSigningKey(layout, "host-a", true);
    assert.equal(again.replaced, key.fingerprint);
    assert.equal((await selectSigningKey(layout, undefined))?.fingerprint, again.key.fingerprint);
    assert.equal(await selectSigningKey(layout, false), null);
  }));

test("a private key others may read is refused", () =>
  withRoot(async (layout) => {
    await generateSigningKey(layout, "k", false);
    await chmod(layout.signingKey("k"), 0o644);
    await assert.rejects(loadSigningKey(layout, "k"), /others may read it/);
  }));

test("trust, untrust by name or fingerprint; the config file's keys are trusted too and only the config file removes them", () =>
  withRoot(async (layout, dir) => {
    const other = withKey();
    await trustKey(layout, { name: "host-b", fingerprint: other.fingerprint, publicKey: other.raw.toString("base64") });
    const third = withKey();
    const file = join(dir, "host-c.pub");
    await writeFile(file, `${publicKeyLine(third.raw, "host-c")}\n`);
    const bare = (withKey()).fingerprint;
    const trust = await trustedKeys(layout, [file, bare]);
    assert.deepEqual([...trust.values()].map((k) => [k.name, k.source]).sort(), [["host-b", "store"], ["host-c", "config"], [bare.slice(0, 19), "config"]].sort());
    await assert.rejects(untrustKey(layout, "host-c", [file]), /trusted by the config file/);
    await assert.rejects(trustedKeys(layout, ["SHA256:abc"]), /not a whole fingerprint/);
    await assert.rejects(trustedKeys(layout, [join(dir, "missing.pub")]), /cannot read/);
    assert.equal((await untrustKey(layout, other.fingerprint.slice(0, 19), [])).name, "host-b");
    assert.equal((await trustedKeys(layout, [])).size, 0);
    await assert.rejects(untrustKey(layout, "host-b", []), /no trusted key "host-b"/);
  }));

test("attack: a trusted-key record whose content is not the key its name says is refused, not skipped", () =>
  withRoot(async (layout) => {
    const a = withKey();
    const b = withKey();
    await trustKey(layout, { name: "a", fingerprint: a.fingerprint, publicKey: a.raw.toString("base64") });
    const path = (await trustedKeys(layout, [])).get(a.fingerprint)!.origin;
    await writeFile(path, JSON.stringify({ formatVersion: 1, name: "a", fingerprint: a.fingerprint, publicKey: b.raw.toString("base64") }));
    await assert.rejects(trustedKeys(layout, []), /is damaged/);
  }));

function withKey(): { raw: Buffer; fingerprint: string } {
  const raw = rawPublicKey(generateKeyPairSync("ed25519").publicKey);
  return { raw, fingerprint: fingerprintOf(raw) };
}
