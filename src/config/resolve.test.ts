import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CkptError, ExitCode } from "../errors.ts";
import { formatDurationMs, parseDurationMs } from "./duration.ts";
import { loadSettings } from "./load.ts";
import { resolveConfig, settingFlags, type ConfigInputs } from "./resolve.ts";

const base: ConfigInputs = { file: null, filePath: "/etc/ckpt/config.json", env: {}, flags: {} };

test("durations: units, plain seconds, and nonsense", () => {
  assert.deepEqual(["250ms", "10s", "5m", "1h", "1.5s", "30", " 2m "].map((t) => parseDurationMs(t)), [250, 10_000, 300_000, 3_600_000, 1500, 30_000, 120_000]);
  assert.equal(parseDurationMs(7), 7000);
  assert.equal(parseDurationMs("soon"), null);
  assert.equal(parseDurationMs("-5s"), null);
  assert.deepEqual([300_000, 10_000, 3_600_000, 1500].map(formatDurationMs), ["5m", "10s", "1h", "1500ms"]);
});

test("defaults: what the issue asks for (back-off 10 s doubling to 5 min, reset after 10 min)", () => {
  const c = resolveConfig(base);
  assert.deepEqual([c.backoffInitial.value, c.backoffMax.value, c.backoffReset.value], [10_000, 300_000, 600_000]);
  assert.deepEqual([c.root.value, c.root.source], ["/var/lib/ckpt", "default"]);
  assert.equal(c.timeMode.value, "auto");
});

test("precedence: flag over environment over file over default, and each value says where it came from", () => {
  const c = resolveConfig({
    ...base,
    file: { root: "/srv/ckpt", parallel: 3, progressTimeout: "2m", compress: "gzip" },
    env: { CKPT_PARALLEL: "5", CKPT_PROGRESS_TIMEOUT: "90s" },
    flags: { progressTimeout: "30s" },
  });
  assert.deepEqual([c.root.value, c.root.source], ["/srv/ckpt", "file"]);
  assert.deepEqual([c.parallel.value, c.parallel.source], [5, "env"]);
  assert.deepEqual([c.progressTimeout.value, c.progressTimeout.source, c.progressTimeout.given], [30_000, "flag", "30s"]);
  assert.deepEqual([c.compress.value, c.compress.source], ["gzip", "file"]);
});

test("bad values are refused naming where they came from; unknown file keys too", () => {
  assert.throws(() => resolveConfig({ ...base, env: { CKPT_BACKOFF_MAX: "forever" } }), /CKPT_BACKOFF_MAX: "forever" is not valid: "forever" is not a duration/);
  assert.throws(() => resolveConfig({ ...base, file: { runtime: "dock er" } }), /runtime in \/etc\/ckpt\/config\.json: "dock er" is not valid/);
  assert.throws(() => resolveConfig({ ...base, flags: { parallel: "0" } }), /--parallel: "0" is not valid/);
  assert.throws(() => resolveConfig({ ...base, file: { paralel: 2 } }), /unknown setting paralel/);
});

test("trustedKeys: a list in the file, comma-separated in the environment, none by default", () => {
  assert.deepEqual(resolveConfig(base).trustedKeys.value, []);
  assert.deepEqual(resolveConfig({ ...base, file: { trustedKeys: ["/etc/ckpt/a.pub", "SHA256:x"] } }).trustedKeys.value, ["/etc/ckpt/a.pub", "SHA256:x"]);
  assert.deepEqual(resolveConfig({ ...base, env: { CKPT_TRUSTED_KEYS: " /etc/ckpt/a.pub, SHA256:x ," } }).trustedKeys.value, ["/etc/ckpt/a.pub", "SHA256:x"]);
  assert.throws(() => resolveConfig({ ...base, file: { trustedKeys: [""] } }), /trustedKeys in \/etc\/ckpt\/config\.json: \[""\] is not valid/);
});

test("resolution order on every branch: each source wins over those below it and only them", () => {
  const file = { timeMode: "suspend" };
  const env = { CKPT_TIME_MODE: "continue" };
  const flags = { timeMode: "host" };
  const pick = (inputs: Partial<ConfigInputs>) => {
    const s = resolveConfig({ ...base, ...inputs }).timeMode;
    return [s.value, s.source];
  };
  assert.deepEqual(pick({ file, env, flags }), ["host", "flag"]);
  assert.deepEqual(pick({ file, flags }), ["host", "flag"]);
  assert.deepEqual(pick({ env, flags }), ["host", "flag"]);
  assert.deepEqual(pick({ flags }), ["host", "flag"]);
  assert.deepEqual(pick({ file, env }), ["continue", "env"]);
  assert.deepEqual(pick({ env }), ["continue", "env"]);
  assert.deepEqual(pick({ file }), ["suspend", "file"]);
  assert.deepEqual(pick({}), ["auto", "default"]);
  // An empty environment variable or flag is as if unset.
  assert.deepEqual(pick({ file, env: { CKPT_TIME_MODE: "" }, flags: { timeMode: "" } }), ["suspend", "file"]);
});

test("the settings are typed and frozen: durations in ms, lists frozen too", () => {
  const s = resolveConfig({ ...base, file: { stopTimeout: 5, trustedKeys: ["SHA256:x"] } });
  assert.equal(s.stopTimeout.value, 5000);
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.stopTimeout) && Object.isFrozen(s.trustedKeys.value));
  assert.throws(() => {
    (s as unknown as Record<string, unknown>)["root"] = "/elsewhere";
  }, TypeError);
});

test("settingFlags: the typed flags by their long name, for the settings that have them", () => {
  const typed = new Map<string, unknown>([["--root", "/r"], ["--time", "5s"], ["--progress-timeout", "2m"], ["--compress", "none"], ["--json", true], ["--name", "web"], ["--config", "/c.json"]]);
  assert.deepEqual(settingFlags(typed), { root: "/r", stopTimeout: "5s", progressTimeout: "2m", compress: "none", configFile: "/c.json" });
  assert.deepEqual(settingFlags(new Map()), {});
});

describe("loadSettings: which config file is read", () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "ckpt-settings-"))));
  after(() => rm(dir, { recursive: true, force: true }));
  const write = async (name: string, content: string) => {
    await writeFile(join(dir, name), content);
    return join(dir, name);
  };

  test("--config, else CKPT_CONFIG, else the default path; the default may be missing, a named file may not", async () => {
    const a = await write("a.json", JSON.stringify({ timeMode: "suspend", compress: "gzip" }));
    const b = await write("b.json", JSON.stringify({ timeMode: "continue" }));
    const viaFlag = await loadSettings({ configFile: a }, { CKPT_CONFIG: b });
    assert.deepEqual([viaFlag.timeMode.value, viaFlag.timeMode.source, viaFlag.configFile.value, viaFlag.configFile.source], ["suspend", "file", a, "flag"]);
    const viaEnv = await loadSettings({}, { CKPT_CONFIG: b });
    assert.deepEqual([viaEnv.timeMode.value, viaEnv.configFile.source, viaEnv.compress.value], ["continue", "env", "zstd"]);
    await assert.rejects(loadSettings({ configFile: join(dir, "missing.json") }, {}), (e: CkptError) => e.exitCode === ExitCode.usage && e.message.includes(join(dir, "missing.json")));
    await assert.rejects(loadSettings({}, { CKPT_CONFIG: join(dir, "missing.json") }), (e: CkptError) => e.exitCode === ExitCode.usage);
  });

  test("a bad file is exit 2 naming the file, and the key when a value is bad", async () => {
    const notJson = await write("not.json", "{ root: ");
    await assert.rejects(loadSettings({ configFile: notJson }, {}), (e: CkptError) => e.exitCode === ExitCode.usage && e.message.includes(`${notJson} is not valid JSON`));
    const list = await write("list.json", "[1]");
    await assert.rejects(loadSettings({ configFile: list }, {}), (e: CkptError) => e.exitCode === ExitCode.usage && e.message.includes(list));
    const badValue = await write("bad.json", JSON.stringify({ progressTimeout: "soon" }));
    await assert.rejects(loadSettings({ configFile: badValue }, {}), (e: CkptError) => e.exitCode === ExitCode.usage && e.message.startsWith(`progressTimeout in ${badValue}: "soon"`));
    // A flag wins over the file's bad value, which is then never parsed.
    assert.equal((await loadSettings({ configFile: badValue, progressTimeout: "5s" }, {})).progressTimeout.value, 5000);
  });
});

test("runtimes: an object in the file, NAME=PATH pairs in the environment, absolute paths only; runtimePath none by default", () => {
  assert.deepEqual(resolveConfig(base).runtimes.value, {});
  assert.deepEqual([resolveConfig(base).runtimePath.value, resolveConfig(base).runtimePath.source], ["", "default"]);
  assert.deepEqual(resolveConfig({ ...base, file: { runtimes: { "runc-1.3": "/opt/runc/runc" } } }).runtimes.value, { "runc-1.3": "/opt/runc/runc" });
  assert.deepEqual(resolveConfig({ ...base, env: { CKPT_RUNTIMES: "runc=/usr/sbin/runc, runc-1.3=/opt/runc/runc" } }).runtimes.value, { runc: "/usr/sbin/runc", "runc-1.3": "/opt/runc/runc" });
  assert.throws(() => resolveConfig({ ...base, env: { CKPT_RUNTIMES: "runc=relative/runc" } }), /CKPT_RUNTIMES: "runc=relative\/runc" is not valid: "runc=relative\/runc" is not NAME=\/absolute\/path/);
  assert.throws(() => resolveConfig({ ...base, file: { runtimes: { "bad name": "/x" } } }), /runtimes in \/etc\/ckpt\/config\.json/);
  assert.throws(() => resolveConfig({ ...base, flags: { runtimePath: "runc" } }), /--runtime-path: "runc" is not valid: an absolute path/);
  assert.ok(Object.isFrozen(resolveConfig({ ...base, file: { runtimes: { a: "/a" } } }).runtimes.value));
});
