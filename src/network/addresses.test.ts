import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalAddress, formatCidr, inSubnet, parseAddress, parseCidr } from "./addresses.ts";

test("one canonical form per address (RFC 5952 for IPv6)", () => {
  assert.equal(canonicalAddress("2001:DB8:0:0::5"), "2001:db8::5");
  assert.equal(canonicalAddress("2001:0db8:0000:0000:0000:0000:0000:0005"), "2001:db8::5");
  assert.equal(canonicalAddress("::1"), "::1");
  assert.equal(canonicalAddress("::"), "::");
  assert.equal(canonicalAddress("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
  assert.equal(canonicalAddress("2001:db8:1:0:1:0:1:0"), "2001:db8:1:0:1:0:1:0", "no run of two zero groups: nothing compressed");
  assert.equal(canonicalAddress("192.0.2.5"), "192.0.2.5");
  assert.equal(canonicalAddress("not an address"), "not an address");
  assert.equal(parseAddress("::ffff:192.0.2.5"), null, "embedded IPv4 is not taken");
});

test("prefixes: parsed, written back without leading zeros, and subnet membership by family", () => {
  assert.equal(formatCidr(parseCidr("192.0.2.90/024")!), "192.0.2.90/24");
  assert.equal(parseCidr("192.0.2.90/33"), null);
  assert.equal(parseCidr("2001:db8::1/129"), null);
  assert.equal(parseCidr("192.0.2.90"), null);
  assert.equal(inSubnet(parseAddress("192.0.2.1")!, parseCidr("192.0.2.50/24")!), true);
  assert.equal(inSubnet(parseAddress("192.0.3.1")!, parseCidr("192.0.2.50/24")!), false);
  assert.equal(inSubnet(parseAddress("2001:db8::1")!, parseCidr("2001:db8::50/64")!), true);
  assert.equal(inSubnet(parseAddress("2001:db8::1")!, parseCidr("192.0.2.50/24")!), false);
});
