// `--config FILE` is honoured by every command (issue 13): the settings are resolved once,
// before the command runs, from the flags, the environment, that file and the defaults.
// Each command here gets no --root: the file's `root` (the sandbox's) is the only way it
// can find the containers; and other settings of the file show in what the commands do.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { createBusyboxBundle, politeShell } from "../harness/bundle.ts";
import { runCkpt } from "../harness/cli.ts";
import { CkptRoot } from "../harness/ckpt-root.ts";
import { requireRealHost } from "../harness/prerequisites.ts";
import { removeStaleSandboxes, Sandbox } from "../harness/sandbox.ts";
import { ExitCode } from "../../src/errors.ts";
import { findExecutable } from "../../src/host/find-executable.ts";

// A shell that exits on SIGTERM (PID 1 ignores signals it has no handler for).

// Every command, with arguments commander accepts, so that its action would run.
const EVERY_COMMAND: string[][] = [
  ["config"],
  ["doctor"],
  ["run", "/nonexistent-bundle"],
  ["ps"],
  ["exec", "web", "--", "true"],
  ["logs", "web"],
  ["stop", "web"],
  ["rm", "web"],
  ["checkpoint", "web"],
  ["checkpoint", "--all"],
  ["checkpoints"],
  ["checkpoints", "prune"],
  ["checkpoints", "rm", "web@20261202T000000.000000000Z"],
  ["recover"],
  ["restore", "web"],
  ["restore", "--all"],
  ["migrate", "web", "--to", "false"],
  ["keys", "list"],
  ["keys", "generate"],
  ["inspect", "web"],
  ["repair", "--unify-timens", "web"],
  ["demo"],
];

describe("--config FILE", () => {
  before(() => removeStaleSandboxes());

  test("a bad config file is exit 2 naming the file and the key, for every command; --help still works", async (t) => {
    const sandbox = await Sandbox.create(t);
    const bad = sandbox.path("bad.json");
    await writeFile(bad, JSON.stringify({ progressTimeout: "soon" }));
    const notJson = sandbox.path("not.json");
    await writeFile(notJson, "{ root:");
    for (const args of EVERY_COMMAND) {
      const r = await runCkpt(["--config", bad, ...args]);
      assert.equal(r.exitCode, 2, `ckpt --config bad.json ${args.join(" ")}: ${String(r.stderr)}`);
      assert.match(String(r.stderr), new RegExp(`progressTimeout in ${bad}: "soon" is not valid`), args.join(" "));
      const broken = await runCkpt(["--config", notJson, ...args]);
      assert.equal(broken.exitCode, 2, args.join(" "));
      assert.match(String(broken.stderr), new RegExp(`the config file ${notJson} is not valid JSON`), args.join(" "));
      const help = await runCkpt(["--config", bad, ...args.filter((a) => !a.startsWith("/") && a !== "--"), "--help"]);
      assert.equal(help.exitCode, 0, `${args.join(" ")} --help: ${String(help.stderr)}`);
    }
    const missing = await runCkpt(["--config", sandbox.path("missing.json"), "ps"]);
    assert.equal(missing.exitCode, 2, "a config file named by --config must exist");
    assert.match(String(missing.stderr), /cannot read the config file .*missing\.json/);
  });

  test("every command acts on the file's root and uses its settings; a flag or the environment still wins", async (t) => {
    if (!(await requireRealHost(t, "runc"))) return;
    const sandbox = await Sandbox.create(t);
    // Its root is where CkptRoot cleans up; no command below names it.
    const ckpt = new CkptRoot(sandbox);
    const bundle = await createBusyboxBundle(sandbox.path("bundle"), { args: politeShell });
    const criu = findExecutable("criu");
    assert.ok(criu !== null, "criu on PATH");
    const configFile = sandbox.path("ckpt.json");
    await writeFile(
      configFile,
      JSON.stringify({
        root: ckpt.root,
        runtime: "runc",
        criu,
        timeMode: "suspend",
        compress: "gzip",
        progressTimeout: "7m",
        backoffInitial: "3s",
        backoffMax: "7s",
        backoffReset: "11s",
        parallel: 1,
        trustedKeys: ["SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"],
      }),
    );
    const ckptWith = async (args: string[], options: { env?: Record<string, string>; expected?: number } = {}) => {
      const r = await runCkpt(["--config", configFile, ...args], options.env === undefined ? {} : { env: { CKPT_NODE: process.execPath, ...options.env } });
      if (r.exitCode !== (options.expected ?? 0)) throw new Error(`ckpt --config F ${args.join(" ")} exited ${r.exitCode}\nstdout: ${String(r.stdout)}\nstderr: ${String(r.stderr)}`);
      return r;
    };
    const json = async <T>(args: string[], options: { env?: Record<string, string> } = {}) => JSON.parse(String((await ckptWith([...args, "--json"], options)).stdout)) as T;

    // config: the same settings, each from the file.
    const shown = await json<Record<string, { value: unknown; source: string }>>(["config"]);
    assert.deepEqual([shown["root"]?.value, shown["root"]?.source, shown["timeMode"]?.value, shown["progressTimeout"]?.value], [ckpt.root, "file", "suspend", 420_000]);

    // run: the file's back-offs go into the restart policy.
    const ran = await json<{ name: string; restart: { policy: string; initialMs: number; maxMs: number; resetAfterMs: number } }>(["run", "-d", "--name", "web", "--restart", "on-failure", bundle]);
    assert.deepEqual(ran.restart, { policy: "on-failure", initialMs: 3000, maxMs: 7000, resetAfterMs: 11_000 });
    assert.ok(existsSync(join(ckpt.root, "containers", "web")), "run created the container under the file's root");

    // ps, exec, logs: they find it there.
    assert.deepEqual((await json<{ name: string }[]>(["ps"])).map((e) => e.name), ["web"]);
    assert.equal((await ckptWith(["exec", "web", "--", "echo", "hello"])).stdout, "hello");
    await ckptWith(["logs", "web"]);

    // checkpoint, checkpoints, inspect, repair: into and from the file's store.
    const dumped = await json<{ checkpoint: string }[]>(["checkpoint", "web"]);
    assert.ok(dumped[0]!.checkpoint.startsWith(ckpt.root), dumped[0]!.checkpoint);
    assert.deepEqual((await json<{ checkpoint: string }[]>(["checkpoints"])).map((c) => c.checkpoint), [dumped[0]!.checkpoint]);
    const inspected = await json<{ source: { path: string } }>(["inspect", "web"]);
    assert.equal(inspected.source.path, dumped[0]!.checkpoint);
    const repaired = await json<{ source: string; repaired: boolean }>(["repair", "--unify-timens", "web"]);
    assert.deepEqual([repaired.source, repaired.repaired], [dumped[0]!.checkpoint, false]);

    // restore: the file's time mode; then the flag's, which wins over the file.
    assert.equal((await json<{ timeMode: string }>(["restore", "web"])).timeMode, "suspend");
    await ckptWith(["checkpoint", "web"]);
    assert.equal((await json<{ timeMode: string }>(["restore", "web"], { env: { CKPT_TIME_MODE: "continue" } })).timeMode, "continue", "the environment wins over the file");
    await ckptWith(["checkpoint", "web"]);
    assert.equal((await json<{ timeMode: string }>(["restore", "web", "--time-mode", "host"], { env: { CKPT_TIME_MODE: "continue" } })).timeMode, "host", "the flag wins over the environment");

    // checkpoint --export: the file's compression, then the flag's.
    const archive = sandbox.path("web.tar.gz");
    const exported = await json<{ archive: { compression: string } }[]>(["checkpoint", "--export", archive, "web"]);
    assert.equal(exported[0]!.archive.compression, "gzip");
    await ckptWith(["rm", "web"]);
    // restore --import: the file's root and time mode.
    const imported = await json<{ name: string; timeMode: string }>(["restore", "--import", archive]);
    assert.deepEqual([imported.name, imported.timeMode], ["web", "suspend"]);
    const plain = sandbox.path("web.tar");
    assert.equal((await json<{ archive: { compression: string } }[]>(["checkpoint", "--export", plain, "-c", "none", "web"], { env: { CKPT_COMPRESS: "zstd" } }))[0]!.archive.compression, "none", "the flag wins over the environment and the file");
    await ckptWith(["rm", "web"]);
    await ckptWith(["restore", "--import", plain]);

    // stop, then checkpoint --all and restore --all: the journal is the file's root's.
    await ckptWith(["stop", "web"]);
    await ckptWith(["rm", "web"]);
    await ckptWith(["run", "-d", "--name", "web", bundle]);
    await ckptWith(["checkpoint", "--all"]);
    const journal = JSON.parse(await readFile(join(ckpt.root, "recovery-journal.json"), "utf8")) as { entries: { name: string; state: string }[] };
    assert.deepEqual(journal.entries.map((e) => [e.name, e.state]), [["web", "checkpointed"]]);
    const restoredAll = await json<{ entries: { name: string; state: string }[] }>(["restore", "--all"]);
    assert.deepEqual(restoredAll.entries.map((e) => [e.name, e.state]), [["web", "restored"]]);

    // keys: generated under the file's root; the file's trusted keys are listed.
    await ckptWith(["keys", "generate", "--name", "here"]);
    assert.ok(existsSync(join(ckpt.root, "keys")), "the key is under the file's root");
    const keys = await json<{ signing: { name: string }[]; trusted: { source: string; fingerprint: string }[] }>(["keys", "list"]);
    assert.deepEqual(keys.signing.map((k) => k.name), ["here"]);
    assert.ok(keys.trusted.some((k) => k.source === "config" && k.fingerprint === "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"), JSON.stringify(keys.trusted));

    // migrate: it finds the container under the file's root and signs with the key there;
    // the target (a stand-in) says what it was asked, and refuses, before anything freezes.
    const target = sandbox.path("target");
    const asked = sandbox.path("asked.json");
    await writeFile(target, `#!/bin/sh\ncat > ${asked}\necho '{"problems":["a stand-in target"]}'\n`);
    await chmod(target, 0o755);
    const migrated = await runCkpt(["--config", configFile, "migrate", "web", "--to", target]);
    assert.equal(migrated.exitCode, ExitCode.refused, String(migrated.stderr));
    assert.match(String(migrated.stderr), /a stand-in target/);
    const request = JSON.parse(await readFile(asked, "utf8")) as { name: string; signer?: string };
    assert.equal(request.name, "web");
    assert.equal(typeof request.signer, "string", "the stream would be signed with the key under the file's root");
    assert.equal((await json<{ name: string; status: string }[]>(["ps"]))[0]?.status, "running", "the refused migration left it running");

    // doctor: the file's CRIU.
    const facts = await json<{ criu: { requested: string | null } }>(["doctor", "--facts"]);
    assert.equal(facts.criu.requested, criu);

    // rm: removes it from the file's root.
    await ckptWith(["rm", "-f", "web"]);
    assert.ok(!existsSync(join(ckpt.root, "containers", "web")));
  });
});
