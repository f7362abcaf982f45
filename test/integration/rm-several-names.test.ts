// `ckpt rm [-f] NAME...` with a missing name among them: rm used to stop at the first
// missing name and leave every container after it running.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { isAlive } from "../../src/proc/process.ts";
import { createBusyboxBundle } from "../harness/bundle.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";

interface PsEntry {
  name: string;
  pid: number | null;
}

describe("rm of several names", () => {
  before(() => removeStaleSandboxes());

  test("a missing name neither stops the others being removed nor, with -f, fails; without -f it is reported with exit 4", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: ["/bin/sh", "-c", "exec sleep 1000 </dev/null >/dev/null 2>&1"] });
    for (const name of ["first", "second", "third"]) await ckpt.ok(["run", "-d", "--name", name, bundle]);
    const running = await ckpt.json<PsEntry[]>(["ps"]);
    const pidOf = (name: string) => running.find((c) => c.name === name)!.pid!;
    const [first, second] = [pidOf("first"), pidOf("second")];

    const forced = await ckpt.run(["rm", "-f", "missing", "first", "--json"]);
    assert.equal(forced.exitCode, 0, `rm -f of a missing name is no error: ${forced.stderr}`);
    assert.deepEqual(JSON.parse(String(forced.stdout)), { removed: ["first"], missing: ["missing"], failed: [] });
    assert.ok(!isAlive(first), "the container after the missing name was removed: its PID 1 is gone");

    await ckpt.ok(["stop", "-t", "0", "second"]);
    const plain = await ckpt.run(["rm", "missing", "second", "third"]);
    assert.equal(plain.exitCode, 4, "the first failure, the missing name, sets the exit code");
    assert.equal(String(plain.stdout), "second", "the stopped container after the missing name is removed");
    assert.match(String(plain.stderr), /no container named "missing"/);
    assert.match(String(plain.stderr), /container "third" is running/, "the running one is reported, not removed, without -f");
    assert.ok(!isAlive(second));
    const left = (await ckpt.json<PsEntry[]>(["ps", "-a"])).map((c) => c.name);
    assert.deepEqual(left, ["third"]);
  });
});
