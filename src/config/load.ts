// Reads the config file and resolves the settings for this run (cli.ts, once, before the
// command's action).
import { readFile } from "node:fs/promises";
import { CkptError, ExitCode } from "../errors.ts";
import { resolveConfig, type Settings } from "./resolve.ts";
import { SETTINGS, type SettingKey } from "./settings.ts";

// `required`: a file named by --config or CKPT_CONFIG must exist; the default one may not.
export async function readConfigFile(path: string, required: boolean): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && !required) return null;
    throw new CkptError(ExitCode.usage, `cannot read the config file ${path}: ${(error as Error).message}`, { hint: `the file named by ${SETTINGS.configFile.flag} or ${SETTINGS.configFile.env} must exist` });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CkptError(ExitCode.usage, `the config file ${path} is not valid JSON: ${(error as Error).message}`, { hint: "ckpt config --help shows an example" });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw new CkptError(ExitCode.usage, `the config file ${path} must hold one JSON object`);
  return json as Record<string, unknown>;
}

// `flags`: only the values the user typed (not commander's defaults).
export async function loadSettings(flags: Partial<Record<SettingKey, unknown>>, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const named = flags.configFile ?? (env[SETTINGS.configFile.env] || undefined);
  const filePath = String(named ?? SETTINGS.configFile.default);
  return resolveConfig({ file: await readConfigFile(filePath, named !== undefined), filePath, env, flags });
}
