import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDurationNs, fromTimespecOffset, parseTimensOffsets, toTimespecOffset } from "./timespec.ts";

test("offsets split like the kernel's: floored seconds, non-negative nanoseconds", () => {
  assert.deepEqual(toTimespecOffset(-1_177_378_024n), { seconds: -2n, nanoseconds: 822_621_976n });
  assert.deepEqual(toTimespecOffset(2_500_000_000n), { seconds: 2n, nanoseconds: 500_000_000n });
  assert.deepEqual(toTimespecOffset(-3_000_000_000n), { seconds: -3n, nanoseconds: 0n });
  assert.deepEqual(toTimespecOffset(0n), { seconds: 0n, nanoseconds: 0n });
  for (const ns of [-1n, 1n, -999_999_999n, 123_456_789_012_345n, -123_456_789_012_345n]) {
    assert.equal(fromTimespecOffset(toTimespecOffset(ns)), ns);
  }
});

test("parseTimensOffsets reads what a CRIU-restored runc container showed on this machine", () => {
  const text = "monotonic          -2 822621976\nboottime           -2 822599812\n";
  assert.deepEqual(parseTimensOffsets(text), { monotonicNs: -1_177_378_024n, boottimeNs: -1_177_400_188n });
  assert.deepEqual(parseTimensOffsets("monotonic 0 0\nboottime 0 0\n"), { monotonicNs: 0n, boottimeNs: 0n });
  assert.throws(() => parseTimensOffsets("monotonic 0 0\n"), /no boottime line/);
});

test("formatDurationNs picks a readable unit and keeps the sign", () => {
  assert.equal(formatDurationNs(340_000_000n), "340 ms");
  assert.equal(formatDurationNs(-2_177_378_024n), "-2.177 s");
  assert.equal(formatDurationNs(512n), "512 ns");
});
