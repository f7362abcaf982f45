import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDurationMs, parseDurationMs } from "./duration.ts";
import { resolveConfig } from "./resolve.ts";

const base = { file: null, filePath: "/etc/ckpt/config.json", env: {}, flags: {} };

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
  assert.throws(() => resolveConfig({ ...base, file: { runtime: "docker" } }), /runtime in \/etc\/ckpt\/config\.json: "docker" is not valid/);
  assert.throws(() => resolveConfig({ ...base, flags: { parallel: "0" } }), /--parallel: "0" is not valid/);
  assert.throws(() => resolveConfig({ ...base, file: { paralel: 2 } }), /unknown setting paralel/);
});

test("trustedKeys: a list in the file, comma-separated in the environment, none by default", () => {
  assert.deepEqual(resolveConfig(base).trustedKeys.value, []);
  assert.deepEqual(resolveConfig({ ...base, file: { trustedKeys: ["/etc/ckpt/a.pub", "SHA256:x"] } }).trustedKeys.value, ["/etc/ckpt/a.pub", "SHA256:x"]);
  assert.deepEqual(resolveConfig({ ...base, env: { CKPT_TRUSTED_KEYS: " /etc/ckpt/a.pub, SHA256:x ," } }).trustedKeys.value, ["/etc/ckpt/a.pub", "SHA256:x"]);
  assert.throws(() => resolveConfig({ ...base, file: { trustedKeys: [""] } }), /trustedKeys in \/etc\/ckpt\/config\.json: \[""\] is not valid/);
});
