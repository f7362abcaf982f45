// `ckpt config [--json]`: the settings this run resolved (the object every command
// receives) and where each value came from.
import { formatDurationMs } from "../config/duration.ts";
import { SETTINGS, settingKeys, type SettingKey } from "../config/settings.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";

const DURATIONS = new Set<SettingKey>(["progressTimeout", "stopTimeout", "backoffInitial", "backoffMax", "backoffReset", "lockTimeout"]);

export function configCommand(options: GlobalOptions): void {
  const { settings } = options;
  if (options.json) {
    printJson(Object.fromEntries(settingKeys.map((k) => [k, { value: settings[k].value, source: settings[k].source, env: SETTINGS[k].env, flag: SETTINGS[k].flag, default: SETTINGS[k].default, ...(DURATIONS.has(k) ? { unit: "ms" } : {}) }])));
    return;
  }
  const c = colors(options);
  const list = (v: unknown) =>
    Array.isArray(v) ? (v.length === 0 ? "none" : v.join(", "))
    : v === null ? "all"
    : v === "" ? "none"
    : typeof v === "object" ? (Object.keys(v).length === 0 ? "none" : Object.entries(v).map(([k, p]) => `${k}=${String(p)}`).join(", "))
    : String(v);
  const show = (k: SettingKey) => (DURATIONS.has(k) ? formatDurationMs(settings[k].value as number) : list(settings[k].value));
  const rows = [["SETTING", "VALUE", "FROM", "ENVIRONMENT", "FLAG"], ...settingKeys.map((k) => [k, show(k), settings[k].source === "file" ? `file ${settings.configFile.value}` : settings[k].source, SETTINGS[k].env, SETTINGS[k].flag])];
  process.stdout.write(`${renderTable(rows).join("\n")}\n\n`);
  process.stdout.write(`${c.dim(settingKeys.map((k) => `${k}: ${SETTINGS[k].doc} (default ${list(SETTINGS[k].default)})`).join("\n"))}\n`);
}
