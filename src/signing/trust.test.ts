import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chooseSigningKey, decideSignature, type SignatureFacts } from "./trust.ts";

const facts = (f: Partial<SignatureFacts>): SignatureFacts => ({ present: true, valid: true, keyTrusted: true, digestsVerified: true, ...f });

describe("decideSignature", () => {
  test("valid, trusted key, files verified: trusted (the spec policy is skipped)", () => {
    assert.deepEqual(decideSignature(facts({})), { status: "trusted", trusted: true, refuse: false });
  });
  test("valid, key not trusted: untrusted, a foreign checkpoint", () => {
    assert.deepEqual(decideSignature(facts({ keyTrusted: false })), { status: "untrusted", trusted: false, refuse: false });
  });
  test("no signature: unsigned, a foreign checkpoint, whatever else", () => {
    for (const verified of [true, false]) assert.deepEqual(decideSignature(facts({ present: false, valid: false, keyTrusted: false, digestsVerified: verified })), { status: "unsigned", trusted: false, refuse: false });
  });
  test("attack: an invalid signature (manifest changed, or a malformed entry) is refused, even by a trusted key", () => {
    for (const keyTrusted of [true, false]) assert.deepEqual(decideSignature(facts({ valid: false, keyTrusted })), { status: "invalid", trusted: false, refuse: true });
  });
  test("attack: --no-verify never makes a checkpoint trusted, not even with a valid signature by a trusted key", () => {
    for (const valid of [true, false]) {
      for (const keyTrusted of [true, false]) {
        const d = decideSignature(facts({ valid, keyTrusted, digestsVerified: false }));
        assert.equal(d.trusted, false);
        assert.equal(d.status, "not-verified");
        assert.equal(d.refuse, false, "the operator asked not to verify");
      }
    }
  });
});

describe("chooseSigningKey", () => {
  test("--no-sign: none; --sign NAME: that one, or an error naming the keys there are", () => {
    assert.deepEqual(chooseSigningKey(["a"], false, "h"), { name: null });
    assert.deepEqual(chooseSigningKey(["a", "b"], "b", "h"), { name: "b" });
    assert.match((chooseSigningKey(["a"], "c", "h") as { error: string }).error, /no signing key named "c" here \(there are: a\)/);
  });
  test("by default: unsigned without a key, the only key, else the one named after the host; several others are an error", () => {
    assert.deepEqual(chooseSigningKey([], undefined, "h"), { name: null });
    assert.deepEqual(chooseSigningKey(["a"], undefined, "h"), { name: "a" });
    assert.deepEqual(chooseSigningKey(["a", "h"], undefined, "h"), { name: "h" });
    assert.ok("error" in chooseSigningKey(["a", "b"], undefined, "h"));
  });
});
