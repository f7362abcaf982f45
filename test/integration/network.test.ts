// Networked containers through checkpoint, restore and migration, on real runc, crun and
// CRIU: a TCP server (test/fixtures/tcp-echo.c) on a private network that ckpt builds
// again before every restore, and a client outside the container that exchanges numbered
// messages over one connection the whole time. Every host is a network namespace the test
// made, with a bridge br0 on 192.0.2.0/24 (reserved for documentation and tests).
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { before, describe, test, type TestContext } from "node:test";
import { createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { clientProgress, linkHosts, netHost, startWatched, type NetHost, type Watched } from "../harness/net-hosts.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { fixturePrograms } from "../harness/programs.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { snapshotNetwork } from "../../src/network/network-namespace.ts";
import type { RuntimeName } from "../../src/runtimes/runtime.ts";
import { combinationLabel, combinationName, testedRuntimes } from "../harness/matrix.ts";

const PORT = "7000";
const CONTAINER_IP = "192.0.2.50";


// Two hosts on one segment, each with its state root, and the echo server on host A.
async function twoHostsWithServer(t: TestContext, runtime: RuntimeName) {
  const sandbox = await Sandbox.create(t);
  const a = await netHost(sandbox, "a", "192.0.2.11/24");
  const b = await netHost(sandbox, "b", "192.0.2.12/24");
  await linkHosts(a, b);
  const rootA = new CkptRoot(sandbox, "host-a");
  const rootB = new CkptRoot(sandbox, "host-b");
  await echoServer(runtime, sandbox, a, rootA);
  return { sandbox, a, b, rootA, rootB, toB: b.ckptCommand(rootB.root) };
}

// A host with ckpt's state root and an echo server on a private network with an address on br0.
async function echoServer(runtime: RuntimeName, sandbox: Sandbox, host: NetHost, root: CkptRoot, name = "echo") {
  const bundle = await createBusyboxBundle(sandbox.path(`bundle-${name}`), { args: inContainerShell(`/usr/bin/tcp-echo serve ${PORT}`) });
  await host.ckptOk(root.root, ["--runtime", runtime, "run", "-d", "--name", name, "--network", "private", "--ip", `${CONTAINER_IP}/24`, "--gateway", host.address.split("/")[0]!, "--bridge", "br0", bundle]);
  // Listening once a client's first message is answered.
  await waitFor("the echo server to answer", async () => ((await host.ask(CONTAINER_IP, PORT, "seq=0")) === "echo seq=0" ? true : undefined));
}

async function startClient(sandbox: Sandbox, host: NetHost): Promise<Watched> {
  const client = startWatched(sandbox, host.on([(await fixturePrograms())["tcp-echo"], "client", CONTAINER_IP, PORT, "--interval-ms", "20"]));
  await waitFor("the client's first answers", async () => (clientProgress(client.output()).lastOk >= 5 ? true : undefined));
  return client;
}

// Waits until the client has had `more` answers after `from`; fails on any client error.
async function clientGoesOn(client: Watched, from: number, more = 20): Promise<ReturnType<typeof clientProgress>> {
  return waitFor(`the client to get ${more} more answers after seq=${from}`, async () => {
    const p = clientProgress(client.output());
    if (p.errors.length > 0) throw new Error(`the client failed: ${p.errors.join("; ")}`);
    return p.lastOk >= from + more ? p : undefined;
  });
}

// Every answer arrived exactly once and in order: 1, 2, 3, ... with one connection.
function assertNoneLostOrRepeated(p: ReturnType<typeof clientProgress>): void {
  assert.equal(p.connected, 1, "one connection, never re-opened");
  assert.deepEqual(p.oks, Array.from({ length: p.oks.length }, (_, i) => i + 1), "every numbered message answered once, in order");
  assert.deepEqual(p.errors, []);
}

async function psEntry(host: NetHost, root: string, name: string): Promise<{ status: string; pid: number | null } | undefined> {
  const r = await host.ckptOk(root, ["ps", "-a", "--json"]);
  return (JSON.parse(r.stdout) as { name: string; status: string; pid: number | null }[]).find((e) => e.name === name);
}

describe(`networked containers [${combinationName()}]`, () => {
  before(() => removeStaleSandboxes());

  for (const runtime of testedRuntimes()) {
    test(`${combinationLabel(runtime)}: a TCP listener serves again after checkpoint and restore, with loopback, address, MAC and routes as they were`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const host = await netHost(sandbox, "h", "192.0.2.1/24");
      const root = new CkptRoot(sandbox);
      await echoServer(runtime, sandbox, host, root);
      const netnsPath = `${root.root}/containers/echo/netns`;
      const before = await snapshotNetwork(netnsPath);
      assert.ok(before.links.some((l) => l.name === "lo" && l.up && l.addresses.includes("127.0.0.1/8")), "loopback up with 127.0.0.1");
      assert.ok(before.links.some((l) => l.name === "eth0" && l.up && l.addresses.includes(`${CONTAINER_IP}/24`)), "eth0 has the address");

      await host.ckptOk(root.root, ["checkpoint", "echo"]);
      assert.equal((await psEntry(host, root.root, "echo"))?.status, "checkpointed");
      await host.ckptOk(root.root, ["restore", "echo"]);
      assert.deepEqual(await snapshotNetwork(netnsPath), before, "the restored namespace is the one the container was dumped in");

      // Served from outside, and from inside over loopback, by the restored process.
      const client = await startClient(sandbox, host);
      assertNoneLostOrRepeated(await clientGoesOn(client, 5));
      const inside = await host.ckptOk(root.root, ["exec", "echo", "--", "sh", "-c", `echo seq=42 | nc -w 1 127.0.0.1 ${PORT}`]);
      assert.equal(inside.stdout.trim(), "echo seq=42");
    });

    test(`${runtime}: an established connection survives checkpoint and restore; without --tcp-established the checkpoint is refused, naming it, and nothing stops`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const sandbox = await Sandbox.create(t);
      const host = await netHost(sandbox, "h", "192.0.2.1/24");
      const root = new CkptRoot(sandbox);
      await echoServer(runtime, sandbox, host, root);
      const client = await startClient(sandbox, host);

      const refused = await host.ckpt(root.root, ["checkpoint", "echo"]);
      assert.equal(refused.exitCode, 5, refused.stderr);
      assert.match(refused.stderr, new RegExp(`${CONTAINER_IP.replaceAll(".", "\\.")}:${PORT} <-> 192\\.0\\.2\\.1:\\d+ \\(ESTABLISHED\\)`));
      assert.match(refused.stderr, /--tcp-established/);
      assert.equal((await psEntry(host, root.root, "echo"))?.status, "running");
      const atRefusal = clientProgress(client.output()).lastOk;
      await clientGoesOn(client, atRefusal, 10);

      await host.ckptOk(root.root, ["checkpoint", "--tcp-established", "echo"]);
      const atDump = clientProgress(client.output()).lastOk;
      await new Promise((r) => setTimeout(r, 500));
      assert.ok(clientProgress(client.output()).lastOk <= atDump + 1, "nobody answers while the container is checkpointed");
      // No flag: the checkpoint says it was made with --tcp-established.
      await host.ckptOk(root.root, ["restore", "echo"]);
      assertNoneLostOrRepeated(await clientGoesOn(client, atDump, 30));
      assert.equal(client.child.exitCode, null, "the client still runs, on its first connection");
    });
  }

  for (const runtime of ["runc", "crun"] as const) {
    test(`${runtime}: migrate between two hosts: the listener keeps its address, and an established connection goes on with none of its messages lost or repeated`, async (t) => {
      if (!(await requireRealHost(t, runtime))) return;
      const { sandbox, a, b, rootA, rootB, toB } = await twoHostsWithServer(t, runtime);
      const client = await startClient(sandbox, a);

      // Unsigned, the stream is a foreign checkpoint to B: joining B's bridge needs saying so.
      if (runtime === "runc") {
        const unasked = await a.ckpt(rootA.root, ["migrate", "echo", "--tcp-established", "--to", toB]);
        assert.equal(unasked.exitCode, 5, unasked.stderr);
        assert.match(unasked.stderr, /network: eth0 joins this host's bridge br0 with MAC [0-9a-f:]+ and 192\.0\.2\.\d+\/24[\s\S]*--allow network/);
        assert.equal((await psEntry(a, rootA.root, "echo"))?.status, "running", "nothing was frozen");
      }
      await a.ckptOk(rootA.root, ["migrate", "echo", "--tcp-established", "--allow", "network", "--to", toB]);
      assert.equal(await psEntry(a, rootA.root, "echo"), undefined, "the source is gone");
      assert.equal((await psEntry(b, rootB.root, "echo"))?.status, "running");
      const atMove = clientProgress(client.output()).lastOk;
      assertNoneLostOrRepeated(await clientGoesOn(client, atMove, 30));
      // A new connection reaches it at the same address, now on host B.
      assert.equal(await a.ask(CONTAINER_IP, PORT, "seq=9"), "echo seq=9");
      const there = await b.ckptOk(rootB.root, ["exec", "echo", "--", "ip", "addr", "show", "eth0"]);
      assert.match(there.stdout, new RegExp(`inet ${CONTAINER_IP.replaceAll(".", "\\.")}/24`));
    });
  }

  test("migrate --lazy: the listener answers at its address on the target while its memory arrives from the source's page server; the source's veth is gone", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const { a, b, rootA, rootB, toB } = await twoHostsWithServer(t, "runc");
    await a.ckptOk(rootA.root, ["migrate", "echo", "--lazy", "--page-server", "192.0.2.11", "--allow", "network", "--to", toB]);
    assert.equal(await psEntry(a, rootA.root, "echo"), undefined, "the source is gone");
    assert.deepEqual(await a.hostEnds(), [], "the source's veth went with it");
    assert.equal((await psEntry(b, rootB.root, "echo"))?.status, "running");
    assert.equal(await a.ask(CONTAINER_IP, PORT, "seq=3"), "echo seq=3", "served from host B at the same address");
  });

  test("ns:PATH: the container joins the operator's namespace, and checkpoint and restore leave that namespace as it was", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    // The operator's namespace: its own interface and address, which ckpt must not touch.
    const operator = await netHost(sandbox, "o", "192.0.2.77/24");
    const nsPath = `/run/netns/${operator.netns}`;
    const root = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell(`/usr/bin/tcp-echo serve ${PORT}`) });
    await root.ok(["--runtime", "runc", "run", "-d", "--name", "joined", "--network", `ns:${nsPath}`, bundle]);
    const ask = () => operator.ask("192.0.2.77", PORT, "seq=5");
    await waitFor("the server in the operator's namespace", async () => ((await ask()) === "echo seq=5" ? true : undefined));
    const inode = (await stat(nsPath)).ino;
    const pidBefore = (await root.json<{ name: string; pid: number }[]>(["ps"])).find((e) => e.name === "joined")!.pid;
    assert.equal((await stat(`/proc/${pidBefore}/ns/net`)).ino, inode, "PID 1 is in the operator's namespace");

    await root.ok(["checkpoint", "joined"]);
    const kept = await snapshotNetwork(nsPath);
    assert.ok(kept.links.some((l) => l.name === "br0" && l.addresses.includes("192.0.2.77/24")), "the checkpoint left the operator's namespace configured");
    await root.ok(["restore", "joined"]);
    const pidAfter = (await root.json<{ name: string; pid: number }[]>(["ps"])).find((e) => e.name === "joined")!.pid;
    assert.equal((await stat(`/proc/${pidAfter}/ns/net`)).ino, inode, "restored into the same namespace");
    assert.equal(await ask(), "echo seq=5");
  });

  test("a migration the target cannot take (no bridge, an address in use) is refused before anything is frozen: the container and its connection run on", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const a = await netHost(sandbox, "a", "192.0.2.11/24");
    const bare = await netHost(sandbox, "c", "192.0.2.13/24", { bridge: false });
    const busy = await netHost(sandbox, "b", "192.0.2.12/24");
    const rootA = new CkptRoot(sandbox, "host-a");
    const rootBare = new CkptRoot(sandbox, "host-c");
    const rootBusy = new CkptRoot(sandbox, "host-b");
    await echoServer("runc", sandbox, a, rootA);
    // Host B already runs a container at the same address.
    await echoServer("runc", sandbox, busy, rootBusy, "other");
    const client = await startClient(sandbox, a);

    const noBridge = await a.ckpt(rootA.root, ["migrate", "echo", "--tcp-established", "--allow", "network", "--to", bare.ckptCommand(rootBare.root)]);
    assert.equal(noBridge.exitCode, 5, noBridge.stderr);
    assert.match(noBridge.stderr, /no bridge br0/);
    assert.match(noBridge.stderr, /nothing was frozen/);
    const taken = await a.ckpt(rootA.root, ["migrate", "echo", "--tcp-established", "--allow", "network", "--to", busy.ckptCommand(rootBusy.root)]);
    assert.equal(taken.exitCode, 5, taken.stderr);
    assert.match(taken.stderr, new RegExp(`address ${CONTAINER_IP.replaceAll(".", "\\.")} of eth0 is already used by container "other"`));

    assert.equal((await psEntry(a, rootA.root, "echo"))?.status, "running");
    assert.equal(await psEntry(bare, rootBare.root, "echo"), undefined, "nothing was created on the bare target");
    const p = await clientGoesOn(client, clientProgress(client.output()).lastOk, 20);
    assertNoneLostOrRepeated(p);
  });
});
