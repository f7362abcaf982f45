import assert from "node:assert/strict";
import { test } from "node:test";
import { fixtureText } from "../../test/support/fixtures.ts";
import { inetDumpVerdict, lookupInetProbe, rememberInetProbe, type InetProbeKey } from "./inet-probe.ts";

const key: InetProbeKey = {
  bootId: "faaee5fb-738d-4df2-bd16-570734a143ed",
  kernelRelease: "6.18.44-fc-v669",
  criuPath: "/usr/local/sbin/criu",
  criuSize: 6142416,
  criuMtimeMs: 1796181933427.7642,
  helperSize: 767480,
  helperMtimeMs: 1796182104457.4468,
};

test("CRIU 4.1.1's dump of the probe on kernel 6.18: the socket error first, the harmless rlimit line left out", () => {
  const verdict = inetDumpVerdict(1, fixtureText("criu/inet-probe/dump-criu-4.1.1-kernel-6.18.log"));
  assert.equal(verdict.ok, false);
  assert.equal(verdict.errorLines[0], "Error (criu/sockets.c:628): sockets: Can't get 1:16 opt: Operation not supported");
  assert.ok(verdict.errorLines.every((l) => !/RLIMIT_NOFILE/.test(l)));
});

test("a dump that exits 0 is ok whatever it logged; a failure without Error lines still says so", () => {
  assert.deepEqual(inetDumpVerdict(0, "Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n"), { ok: true, errorLines: [] });
  assert.deepEqual(inetDumpVerdict(undefined, ""), { ok: false, errorLines: ["criu dump exited with a signal and logged no Error line"] });
  assert.equal(inetDumpVerdict(1, "(00.002000) Error (criu/x.c:1): y\n").errorLines[0], "Error (criu/x.c:1): y");
});

test("a cached answer holds only for the same boot, kernel, CRIU binary and helper", () => {
  const cache = rememberInetProbe({ entries: [] }, key, { ok: true, errorLines: [] });
  assert.deepEqual(lookupInetProbe(cache, key), { ok: true, errorLines: [] });
  for (const change of [{ bootId: "another-boot" }, { kernelRelease: "6.19.0" }, { criuMtimeMs: 1 }, { criuSize: 1 }, { criuPath: "/opt/criu" }, { helperMtimeMs: 1 }]) {
    assert.equal(lookupInetProbe(cache, { ...key, ...change }), null, JSON.stringify(change));
  }
});

test("remembering replaces the answer for the same CRIU path, keeps others, and keeps at most eight", () => {
  let cache = rememberInetProbe({ entries: [] }, { ...key, criuPath: "/kept/criu" }, { ok: false, errorLines: ["e"] });
  cache = rememberInetProbe(cache, key, { ok: true, errorLines: [] });
  cache = rememberInetProbe(cache, { ...key, criuMtimeMs: 2 }, { ok: false, errorLines: ["rebuilt"] });
  assert.deepEqual(cache.entries.map((e) => [e.key.criuPath, e.ok]), [["/usr/local/sbin/criu", false], ["/kept/criu", false]]);
  for (let i = 0; i < 10; i++) cache = rememberInetProbe(cache, { ...key, criuPath: `/c/${i}` }, { ok: true, errorLines: [] });
  assert.equal(cache.entries.length, 8);
});
