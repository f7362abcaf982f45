// Pure: the effective configuration from, in rising precedence, the defaults, the config
// file, the environment and the command line, with where each value came from.
import { CkptError, ExitCode } from "../errors.ts";
import { SETTINGS, settingKeys, type SettingKey } from "./settings.ts";

export type Source = "default" | "file" | "env" | "flag";

export interface ResolvedSetting {
  value: unknown;
  source: Source;
  // The raw text or JSON value as given (for `ckpt config`).
  given: unknown;
}

export type ResolvedConfig = Record<SettingKey, ResolvedSetting>;

export interface ConfigInputs {
  file: Record<string, unknown> | null;
  filePath: string;
  env: Readonly<Record<string, string | undefined>>;
  flags: Partial<Record<SettingKey, unknown>>;
}

export function resolveConfig(inputs: ConfigInputs): ResolvedConfig {
  const unknownKeys = Object.keys(inputs.file ?? {}).filter((k) => !(k in SETTINGS));
  if (unknownKeys.length > 0) {
    throw new CkptError(ExitCode.usage, `${inputs.filePath}: unknown setting${unknownKeys.length > 1 ? "s" : ""} ${unknownKeys.join(", ")}`, { hint: `the settings are: ${settingKeys.join(", ")} (ckpt config lists them)` });
  }
  const out = {} as ResolvedConfig;
  for (const key of settingKeys) {
    const setting = SETTINGS[key];
    const candidates: [Source, unknown][] = [
      ["flag", inputs.flags[key]],
      ["env", inputs.env[setting.env]],
      ["file", inputs.file?.[key]],
      ["default", setting.default],
    ];
    const [source, given] = candidates.find(([, v]) => v !== undefined && v !== "")!;
    const parsed = setting.schema.safeParse(given);
    if (!parsed.success) {
      const where = { flag: setting.flag, env: setting.env, file: `${key} in ${inputs.filePath}`, default: "the default" }[source];
      throw new CkptError(ExitCode.usage, `${where}: ${JSON.stringify(given)} is not valid: ${parsed.error.issues[0]?.message ?? "invalid"}`, { hint: setting.doc });
    }
    out[key] = { value: parsed.data, source, given };
  }
  return out;
}
