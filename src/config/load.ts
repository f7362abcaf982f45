// Reads the config file and resolves the configuration for this run; applies the global
// settings (root, runtime, criu) to the options commander parsed.
import { readFile } from "node:fs/promises";
import { CkptError, ExitCode } from "../errors.ts";
import { resolveConfig, type ResolvedConfig } from "./resolve.ts";
import { SETTINGS, type SettingKey } from "./settings.ts";

export async function readConfigFile(path: string): Promise<Record<string, unknown> | null> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new CkptError(ExitCode.usage, `cannot read the config file ${path}: ${(error as Error).message}`);
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
export async function loadConfig(flags: Partial<Record<SettingKey, unknown>>, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const filePath = String(flags.configFile ?? env[SETTINGS.configFile.env] ?? SETTINGS.configFile.default);
  return resolveConfig({ file: await readConfigFile(filePath), filePath, env, flags });
}
