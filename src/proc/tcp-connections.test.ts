import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { describeSocket, hexEndpoint, needsTcpEstablished, parseProcNetTcp } from "./tcp-connections.ts";

const fixture = (name: string) => readFile(new URL(`../../test/fixtures/proc/${name}`, import.meta.url), "utf8");

test("parses /proc/net/tcp of a container holding a listener and one established connection (read while the echo test ran)", async () => {
  const entries = parseProcNetTcp(await fixture("net-tcp-echo.txt"));
  assert.deepEqual(entries, [
    { local: "0.0.0.0:7000", remote: "0.0.0.0:0", state: "LISTEN", inode: 123642 },
    { local: "192.0.2.50:7000", remote: "192.0.2.11:41178", state: "ESTABLISHED", inode: 123643 },
  ]);
  assert.deepEqual(entries.filter((e) => needsTcpEstablished(e.state)).map((e) => e.inode), [123643]);
});

test("parses /proc/net/tcp6: IPv6 addresses are four little-endian words, shown compressed in brackets", async () => {
  const entries = parseProcNetTcp(await fixture("net-tcp6-loopback.txt"));
  assert.deepEqual(entries.map((e) => [e.local, e.remote, e.state]), [
    ["[::1]:7001", "[::]:0", "LISTEN"],
    ["[::1]:34628", "[::1]:7001", "ESTABLISHED"],
    ["[::1]:7001", "[::1]:34628", "ESTABLISHED"],
  ]);
});

test("IPv4-mapped IPv6 endpoints read as IPv4; other addresses keep their groups", () => {
  assert.equal(hexEndpoint("0000000000000000FFFF0000320200C0:1B58"), "192.0.2.50:7000");
  // 2001:db8::5 as /proc writes it.
  assert.equal(hexEndpoint("B80D0120000000000000000005000000:0050"), "[2001:db8::5]:80");
});

test("CRIU needs --tcp-established for every state but listening and closed", () => {
  for (const s of ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSE_WAIT", "LAST_ACK", "CLOSING"]) assert.equal(needsTcpEstablished(s), true, s);
  for (const s of ["LISTEN", "CLOSE"]) assert.equal(needsTcpEstablished(s), false, s);
});

test("describeSocket: listeners, UDP sockets and connections each in their words", () => {
  const base = { pid: 7, command: "srv", inode: 1, remote: "0.0.0.0:0" };
  assert.equal(describeSocket({ ...base, local: "0.0.0.0:8080", state: "LISTEN" }), "PID 7 (srv): TCP listener 0.0.0.0:8080");
  assert.equal(describeSocket({ ...base, local: "127.0.0.1:53", state: "UDP" }), "PID 7 (srv): UDP 127.0.0.1:53");
  assert.equal(describeSocket({ ...base, local: "10.0.0.2:80", remote: "10.0.0.3:5000", state: "ESTABLISHED" }), "PID 7 (srv): 10.0.0.2:80 <-> 10.0.0.3:5000 (ESTABLISHED)");
});
