// Every setting ckpt has, in one table: its key in /etc/ckpt/config.json, its environment
// variable, its flag, its default and what it means. Validation comes from the zod
// schema of each; `ckpt config` prints the table resolved.
import { availableParallelism } from "node:os";
import { z } from "zod";
import { parseDurationMs } from "./duration.ts";

const durationMs = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDurationMs(v);
  if (ms === null) {
    ctx.addIssue({ code: "custom", message: `"${v}" is not a duration (like 250ms, 10s, 5m, 1h, or seconds)` });
    return z.NEVER;
  }
  return ms;
});
const positiveInt = z.coerce.number().int().positive();
// A number of checkpoints, or "all" (null: no limit).
const retainCount = z.union([z.literal("all").transform(() => null), positiveInt]);
// A list in the config file; comma-separated in the environment.
const stringList = z.union([z.array(z.string().min(1)), z.string()]).transform((v) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s !== "") : v));
// A runtime name: runc, crun, or a name the runtimes setting gives a binary.
const runtimeNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "a runtime name is runc, crun or a name from the runtimes setting (letters, digits, . _ -)");
// Named runtime binaries: an object in the config file ({"runc-1.3": "/opt/runc-1.3/runc"}),
// NAME=PATH pairs, comma-separated, in the environment. Paths are absolute.
const absolutePath = z.string().regex(/^\//, "an absolute path");
const runtimePathMap = z.unknown().transform((v, ctx): Readonly<Record<string, string>> => {
  const entries: [string, unknown][] =
    typeof v === "string" ? v.split(",").map((p) => p.trim()).filter((p) => p !== "").map((p) => { const i = p.indexOf("="); return i < 0 ? [p, ""] : [p.slice(0, i), p.slice(i + 1)]; })
    : v !== null && typeof v === "object" && !Array.isArray(v) ? Object.entries(v)
    : [];
  if (entries.length === 0 && !(typeof v === "string" || (v !== null && typeof v === "object" && !Array.isArray(v)))) {
    ctx.addIssue({ code: "custom", message: "an object of NAME: /absolute/path" });
    return z.NEVER;
  }
  for (const [name, path] of entries) {
    if (!runtimeNameSchema.safeParse(name).success || typeof path !== "string" || !path.startsWith("/")) {
      ctx.addIssue({ code: "custom", message: `"${name}=${String(path)}" is not NAME=/absolute/path (a name of letters, digits, . _ -)` });
      return z.NEVER;
    }
  }
  return Object.freeze(Object.fromEntries(entries) as Record<string, string>);
});

export interface Setting {
  env: string;
  flag: string;
  default: unknown;
  schema: z.ZodType;
  doc: string;
}

export const SETTINGS = {
  root: { env: "CKPT_ROOT", flag: "--root", default: "/var/lib/ckpt", schema: z.string().min(1), doc: "ckpt's state: containers, checkpoints, journal (persistent storage, so checkpoints survive a reboot)" },
  runtime: { env: "CKPT_RUNTIME", flag: "--runtime", default: "runc", schema: runtimeNameSchema, doc: "OCI runtime for new containers and restores: runc, crun, or a name from runtimes (a restore of a container of this host otherwise uses the binary it was created with)" },
  runtimePath: { env: "CKPT_RUNTIME_PATH", flag: "--runtime-path", default: "", schema: z.union([z.literal(""), absolutePath]), doc: "the binary of the runtime (its kind, runc or crun, is read from its --version); wins over runtimes" },
  // No flag: the host's runtimes are configured once, like podman's runtime paths.
  runtimes: { env: "CKPT_RUNTIMES", flag: "-", default: {}, schema: runtimePathMap, doc: "named runtime binaries, e.g. {\"runc\": \"/usr/sbin/runc\", \"runc-1.3\": \"/opt/runc-1.3/sbin/runc\"}; --runtime NAME picks one, ckpt doctor lists each" },
  criu: { env: "CKPT_CRIU", flag: "--criu", default: "criu", schema: z.string().min(1), doc: "the CRIU binary (>= 4.2 on kernels >= 6.16); ckpt puts a link to it first on PATH, where runc and crun look CRIU up" },
  configFile: { env: "CKPT_CONFIG", flag: "--config", default: "/etc/ckpt/config.json", schema: z.string().min(1), doc: "this file" },
  parallel: { env: "CKPT_PARALLEL", flag: "--parallel", default: availableParallelism(), schema: positiveInt, doc: "containers checkpointed or restored at once by --all (default: the number of cores)" },
  progressTimeout: { env: "CKPT_PROGRESS_TIMEOUT", flag: "--progress-timeout", default: "60s", schema: durationMs, doc: "give up on a dump or restore whose log and page counters stopped moving for this long" },
  stopTimeout: { env: "CKPT_STOP_TIMEOUT", flag: "--time", default: "10s", schema: durationMs, doc: "grace between SIGTERM and SIGKILL when a container is stopped" },
  backoffInitial: { env: "CKPT_BACKOFF_INITIAL", flag: "--backoff-initial", default: "10s", schema: durationMs, doc: "first retry delay of a failed restore or a crashed container" },
  backoffMax: { env: "CKPT_BACKOFF_MAX", flag: "--backoff-max", default: "5m", schema: durationMs, doc: "longest retry delay (the delay doubles up to it)" },
  backoffReset: { env: "CKPT_BACKOFF_RESET", flag: "--backoff-reset", default: "10m", schema: durationMs, doc: "running this long without failing starts the back-off over" },
  timeMode: { env: "CKPT_TIME_MODE", flag: "--time-mode", default: "auto", schema: z.enum(["auto", "host", "continue", "suspend"]), doc: "default clock policy of restores (restore --all after a reboot: continue)" },
  lockTimeout: { env: "CKPT_LOCK_TIMEOUT", flag: "--lock-timeout", default: "5s", schema: durationMs, doc: "how long a command waits for a container (or the store, for --all) another ckpt command holds, before it fails with exit 9 naming that command" },
  compress: { env: "CKPT_COMPRESS", flag: "--compress", default: "zstd", schema: z.enum(["zstd", "gzip", "none"]), doc: "default compression of exported archives" },
  // Retention: the newest N complete checkpoints of a container are kept after each
  // checkpoint ("all": none is removed). Never those the recovery journal names, nor a
  // checkpointed container's state.
  retain: { env: "CKPT_RETAIN", flag: "--retain", default: 3, schema: retainCount, doc: "complete checkpoints kept per container after each checkpoint, newest first (all: keep every one); failed dumps older than those kept go too" },
  // No flag: trust is the host's, given once (ckpt keys trust, or this list), not per command.
  trustedKeys: { env: "CKPT_TRUSTED_KEYS", flag: "-", default: [], schema: stringList, doc: "public keys whose signed archives restore as trusted, besides those of ckpt keys trust: fingerprints (SHA256:...) or files from ckpt keys export" },
} satisfies Record<string, Setting>;

export type SettingKey = keyof typeof SETTINGS;
export const settingKeys = Object.keys(SETTINGS) as SettingKey[];
// A setting's value as its schema parses it: durations in milliseconds, enums typed.
export type SettingValue<K extends SettingKey> = z.output<(typeof SETTINGS)[K]["schema"]>;
