// What the networking review found an archive or a bad day could do, each stopped: an
// archive carrying another container's id or a path as its id, an imported host-network
// container, a stopped container whose own network blocked its restore, and a copy under a
// new name that needs an address of its own. Real runc and CRIU; hosts are network
// namespaces the test made.
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { before, describe, test } from "node:test";
import { execa } from "execa";
import { createBusyboxBundle, inContainerShell } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { netHost, type NetHost } from "../harness/net-hosts.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { waitFor } from "../harness/reports.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { tamperedExport } from "../harness/archives.ts";

interface PsEntry {
  name: string;
  id: string;
  status: string;
  pid: number | null;
}

async function ps(host: NetHost, root: string): Promise<PsEntry[]> {
  return JSON.parse((await host.ckptOk(root, ["ps", "-a", "--json"])).stdout) as PsEntry[];
}

describe("networking under attack and on a bad day", () => {
  before(() => removeStaleSandboxes());

  test("attack: an archive carrying a running container's id, or a path as its id, restores under a fresh id: the other container runs on and nothing is unmounted", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = await netHost(sandbox, "h", "192.0.2.1/24");
    const root = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
    await host.ckptOk(root.root, ["--runtime", "runc", "run", "-d", "--name", "victim", bundle]);
    await host.ckptOk(root.root, ["--runtime", "runc", "run", "-d", "--name", "carrier", bundle]);
    const victim = (await ps(host, root.root)).find((e) => e.name === "victim")!;
    const archive = sandbox.path("carrier.tar");
    await host.ckptOk(root.root, ["checkpoint", "--export", archive, "-c", "none", "carrier"]);
    await host.ckptOk(root.root, ["rm", "-f", "carrier"]);

    const stolen = await tamperedExport(archive, sandbox.path("stolen-id-"), ({ manifest, config }) => {
      manifest["container"]["id"] = victim.id;
      config["id"] = victim.id;
    });
    await host.ckptOk(root.root, ["restore", "--import", stolen, "--no-verify"]);
    let after = await ps(host, root.root);
    assert.deepEqual(after.find((e) => e.name === "victim"), victim, "the container whose id the archive carried runs on, untouched");
    const thief = after.find((e) => e.name === "carrier")!;
    assert.equal(thief.status, "running");
    assert.notEqual(thief.id, victim.id, "restored under an id of its own");
    await host.ckptOk(root.root, ["rm", "-f", "carrier"]);

    // The name (and id) of a stopped container: never taken over by an import.
    await host.ckptOk(root.root, ["stop", "victim"]);
    const stopped = (await ps(host, root.root)).find((e) => e.name === "victim")!;
    const namesake = await tamperedExport(archive, sandbox.path("namesake-"), ({ manifest, config }) => {
      manifest["container"]["id"] = victim.id;
      manifest["container"]["name"] = "victim";
      config["id"] = victim.id;
      config["name"] = "victim";
    });
    const takeover = await host.ckpt(root.root, ["restore", "--import", namesake]);
    assert.equal(takeover.exitCode, 9, takeover.stderr);
    assert.match(takeover.stderr, /a container named "victim" already exists here \(exited\)[\s\S]*--name NEW/);
    assert.deepEqual((await ps(host, root.root)).find((e) => e.name === "victim"), stopped, "the stopped container is as it was");
    await host.ckptOk(root.root, ["restore", "--import", namesake, "--name", "victim2"]);
    assert.equal((await ps(host, root.root)).find((e) => e.name === "victim2")?.status, "running");
    await host.ckptOk(root.root, ["rm", "-f", "victim2"]);

    // A mount below the runtime's state directory's parent, where "../../.." would lead.
    const target = sandbox.path("precious");
    await mkdir(target);
    await execa("mount", ["-t", "tmpfs", "ckpt-test-precious", target]);
    sandbox.defer(async () => void (await execa("umount", [target], { reject: false })));
    const traversal = await tamperedExport(archive, sandbox.path("traversal-id-"), ({ manifest, config }) => {
      manifest["container"]["id"] = "../../../precious";
      config["id"] = "../../../precious";
    });
    await host.ckptOk(root.root, ["restore", "--import", traversal, "--no-verify"]);
    after = await ps(host, root.root);
    assert.match(after.find((e) => e.name === "carrier")!.id, /^[0-9a-f]{64}$/);
    assert.match(await readFile("/proc/self/mountinfo", "utf8"), /ckpt-test-precious/, "the mount is still there");
  });

  test("attack: an imported archive of a host-network container does not join this host's network unless the operator says --network host", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = await netHost(sandbox, "h", "192.0.2.1/24");
    const root = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("sleep 1000") });
    await host.ckptOk(root.root, ["--runtime", "runc", "run", "-d", "--name", "hostnet", "--network", "host", bundle]);
    const archive = sandbox.path("hostnet.tar.zst");
    await host.ckptOk(root.root, ["checkpoint", "--export", archive, "hostnet"]);
    await host.ckptOk(root.root, ["rm", "-f", "hostnet"]);
    const refused = await host.ckpt(root.root, ["restore", "--import", archive]);
    assert.equal(refused.exitCode, 5, refused.stderr);
    assert.match(refused.stderr, /--network host/);
    assert.deepEqual(await ps(host, root.root), [], "nothing was created");
    await host.ckptOk(root.root, ["restore", "--import", archive, "--network", "host"]);
    const pid = (await ps(host, root.root)).find((e) => e.name === "hostnet")!.pid!;
    const [inside, ours] = await Promise.all([execa("readlink", [`/proc/${pid}/ns/net`]), host.exec(["readlink", "/proc/self/ns/net"])]);
    assert.equal(inside.stdout, ours.stdout, "in the host's namespace, as the operator said");
  });

  test("bad day: a stopped container with an address restores from its checkpoint; stop released its address, and a copy under a new name takes another with --ip", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const host = await netHost(sandbox, "h", "192.0.2.1/24");
    const root = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: inContainerShell("/usr/bin/tcp-echo serve 8080") });
    await host.ckptOk(root.root, ["--runtime", "runc", "run", "-d", "--name", "web", "--network", "private", "--ip", "192.0.2.60/24", "--bridge", "br0", bundle]);
    const serves = async (address: string) => (await host.ask(address, "8080", "seq=1")) === "echo seq=1";
    await waitFor("the echo server", async () => ((await serves("192.0.2.60")) ? true : undefined));
    await host.ckptOk(root.root, ["checkpoint", "--leave-running", "web"]);
    await host.ckptOk(root.root, ["stop", "-t", "1", "web"]);
    assert.deepEqual(await host.hostEnds(), [], "stop released the veth: the address no longer answers for a stopped container");
    await host.ckptOk(root.root, ["restore", "web"]);
    assert.equal(await serves("192.0.2.60"), true, "restored, at its address");

    // A copy of the same checkpoint needs an address of its own: refused with the recorded one, fine with --ip.
    const copy = await host.ckpt(root.root, ["restore", "-n", "web2", "web"]);
    assert.equal(copy.exitCode, 9, copy.stderr);
    assert.match(copy.stderr, /192\.0\.2\.60 of eth0 is already used by container "web"/);
    await host.ckptOk(root.root, ["restore", "-n", "web2", "--ip", "192.0.2.61/24", "--bridge", "br0", "web"]);
    assert.equal(await serves("192.0.2.61"), true, "the copy serves at its own address");
    assert.equal(await serves("192.0.2.60"), true, "and the original at its");
  });
});
