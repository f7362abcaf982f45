// `ckpt config [--json]`: the effective configuration and where each value came from.
import { formatDurationMs } from "../config/duration.ts";
import { loadConfig } from "../config/load.ts";
import { SETTINGS, settingKeys, type SettingKey } from "../config/settings.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";

const DURATIONS = new Set<SettingKey>(["progressTimeout", "stopTimeout", "backoffInitial", "backoffMax", "backoffReset", "lockTimeout"]);

export async function configCommand(options: GlobalOptions & { typed: Partial<Record<SettingKey, unknown>> }): Promise<void> {
  const config = await loadConfig(options.typed);
  if (options.json) {
    printJson(Object.fromEntries(settingKeys.map((k) => [k, { value: config[k].value, source: config[k].source, env: SETTINGS[k].env, flag: SETTINGS[k].flag, default: SETTINGS[k].default, ...(DURATIONS.has(k) ? { unit: "ms" } : {}) }])));
    return;
  }
  const c = colors(options);
  const list = (v: unknown) => (Array.isArray(v) ? (v.length === 0 ? "none" : v.join(", ")) : String(v));
  const show = (k: SettingKey) => (DURATIONS.has(k) ? formatDurationMs(config[k].value as number) : list(config[k].value));
  const rows = [["SETTING", "VALUE", "FROM", "ENVIRONMENT", "FLAG"], ...settingKeys.map((k) => [k, show(k), config[k].source === "file" ? `file ${String(config.configFile.value)}` : config[k].source, SETTINGS[k].env, SETTINGS[k].flag])];
  process.stdout.write(`${renderTable(rows).join("\n")}\n\n`);
  process.stdout.write(`${c.dim(settingKeys.map((k) => `${k}: ${SETTINGS[k].doc} (default ${list(SETTINGS[k].default)})`).join("\n"))}\n`);
}
