// The shutdown and boot units: their contract (what runs when, and in which order at
// shutdown), and systemd's own verdict on them.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { execa } from "execa";
import { findExecutable } from "../../src/host/find-executable.ts";
import { ckptBin } from "../harness/cli.ts";
import { integrationRequired } from "../harness/prerequisites.ts";

const dir = fileURLToPath(new URL("../../scripts/systemd/", import.meta.url));
const units = ["ckpt-checkpoint.service", "ckpt-restore.service"];

// [Section] key=value, keys may repeat.
function parseUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) section = header[1]!;
    else {
      const [key, ...value] = line.split("=");
      const k = `${section}.${key}`;
      out.set(k, [...(out.get(k) ?? []), value.join("=")]);
    }
  }
  return out;
}

test("at shutdown the checkpoint unit runs `ckpt checkpoint --all` before the restore unit's monitors are stopped; at boot `ckpt restore --all` runs and its monitors stay", async () => {
  const checkpoint = parseUnit(await readFile(join(dir, "ckpt-checkpoint.service"), "utf8"));
  const restore = parseUnit(await readFile(join(dir, "ckpt-restore.service"), "utf8"));
  assert.match(checkpoint.get("Service.ExecStop")?.[0] ?? "", /\/ckpt checkpoint --all$/);
  assert.deepEqual(checkpoint.get("Service.RemainAfterExit"), ["yes"], "started at boot, so that stopping it at shutdown runs ExecStop");
  // Units stop in the reverse order of their start: After= means it stops first.
  assert.match(checkpoint.get("Unit.After")?.[0] ?? "", /\bckpt-restore\.service\b/);
  assert.match(restore.get("Service.ExecStart")?.[0] ?? "", /\/ckpt restore --all$/);
  assert.deepEqual(restore.get("Service.KillMode"), ["process"], "the restored containers' monitors are not killed when the unit's main process ends");
  assert.deepEqual(restore.get("Service.RemainAfterExit"), ["yes"]);
  for (const unit of [checkpoint, restore]) assert.deepEqual(unit.get("Install.WantedBy"), ["multi-user.target"]);
});

test("systemd-analyze verify accepts both units", async (t) => {
  const analyze = findExecutable("systemd-analyze");
  if (analyze === null) {
    if (integrationRequired()) throw new Error("systemd-analyze is not installed (Debian: systemd)");
    return t.skip("systemd-analyze is not installed");
  }
  const scratch = await mkdtemp(join(tmpdir(), "ckpt-units-"));
  try {
    // The units name the installed /usr/local/bin/ckpt; verify them against this checkout's.
    for (const unit of units) {
      const text = (await readFile(join(dir, unit), "utf8")).replaceAll("/usr/local/bin/ckpt", ckptBin);
      await writeFile(join(scratch, unit), text);
    }
    const r = await execa(analyze, ["verify", ...units.map((u) => join(scratch, u))], { reject: false });
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(r.stderr.trim(), "", "no warnings");
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});
