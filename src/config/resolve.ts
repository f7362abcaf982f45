// Pure: the effective settings from, in rising precedence, the defaults, the config file,
// the environment and the command line, with where each value came from.
import { CkptError, ExitCode } from "../errors.ts";
import { SETTINGS, settingKeys, type SettingKey, type SettingValue } from "./settings.ts";

export type Source = "default" | "file" | "env" | "flag";

export interface ResolvedSetting<T = unknown> {
  // Parsed: durations in milliseconds, enums typed.
  readonly value: T;
  readonly source: Source;
  // The raw text or JSON value as given (for `ckpt config`).
  readonly given: unknown;
}

// Every setting, resolved once per run (cli.ts) and handed to the command; frozen.
export type Settings = { readonly [K in SettingKey]: ResolvedSetting<SettingValue<K>> };

export interface ConfigInputs {
  file: Record<string, unknown> | null;
  filePath: string;
  env: Readonly<Record<string, string | undefined>>;
  flags: Partial<Record<SettingKey, unknown>>;
}

export function resolveConfig(inputs: ConfigInputs): Settings {
  const unknownKeys = Object.keys(inputs.file ?? {}).filter((k) => !(k in SETTINGS));
  if (unknownKeys.length > 0) {
    throw new CkptError(ExitCode.usage, `${inputs.filePath}: unknown setting${unknownKeys.length > 1 ? "s" : ""} ${unknownKeys.join(", ")}`, { hint: `the settings are: ${settingKeys.join(", ")} (ckpt config lists them)` });
  }
  const out: Partial<Record<SettingKey, ResolvedSetting>> = {};
  for (const key of settingKeys) {
    const setting = SETTINGS[key];
    const candidates: [Source, unknown][] = [
      ["flag", inputs.flags[key]],
      ["env", inputs.env[setting.env]],
      ["file", inputs.file?.[key]],
      ["default", setting.default],
    ];
    // The default always counts, even when empty (runtimePath's "": none).
    const [source, given] = candidates.find(([s, v]) => s === "default" || (v !== undefined && v !== ""))!;
    const parsed = setting.schema.safeParse(given);
    if (!parsed.success) {
      const where = { flag: setting.flag, env: setting.env, file: `${key} in ${inputs.filePath}`, default: "the default" }[source];
      throw new CkptError(ExitCode.usage, `${where}: ${JSON.stringify(given)} is not valid: ${parsed.error.issues[0]?.message ?? "invalid"}`, { hint: setting.doc });
    }
    const value: unknown = Array.isArray(parsed.data) ? Object.freeze([...(parsed.data as unknown[])]) : parsed.data;
    out[key] = Object.freeze({ value, source, given });
  }
  return Object.freeze(out) as Settings;
}

// The setting keys of the flags typed on the command line (by their long name, as in the
// settings table: "--progress-timeout"), with the values typed.
export function settingFlags(typed: ReadonlyMap<string, unknown>): Partial<Record<SettingKey, unknown>> {
  return Object.fromEntries(settingKeys.filter((k) => typed.has(SETTINGS[k].flag)).map((k) => [k, typed.get(SETTINGS[k].flag)]));
}
