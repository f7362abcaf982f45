// CRIU's configuration file format, read and written the way CRIU 4.2 reads it
// (criu/config.c parse_statement): one option per line, its name without the `--` of the
// command line, then at most one value after white space, in double quotes when it holds
// white space (a `\"` inside is a literal quote); `#` starts a comment. Pure.
//
// ckpt also accepts a leading `--` and `name=value` (what an operator copies from a
// command line), and always writes the canonical form, which CRIU reads back unchanged.

// One option as CRIU would see it, and the file and line it came from (none for ckpt's own).
export interface CriuConfigOption {
  name: string;
  // null for an option without a value (tcp-close); "" for a value of `""`.
  value: string | null;
  origin: { file: string; line: number } | null;
}

export interface CriuConfigProblem {
  file: string;
  line: number;
  text: string;
  reason: string;
}

export interface ParsedCriuConfig {
  options: CriuConfigOption[];
  // Lines CRIU would refuse ("Unsupported configuration file format"): not in `options`.
  problems: CriuConfigProblem[];
}

export function parseCriuConfig(text: string, file: string): ParsedCriuConfig {
  const options: CriuConfigOption[] = [];
  const problems: CriuConfigProblem[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    const parsed = parseLine(raw);
    if (parsed === null) return;
    if ("reason" in parsed) problems.push({ file, line, text: raw.trim(), reason: parsed.reason });
    else options.push({ ...parsed, origin: { file, line } });
  });
  return { options, problems };
}

function parseLine(raw: string): { name: string; value: string | null } | { reason: string } | null {
  const input = raw.replace(/^\s+/, "").replace(/\r$/, "");
  if (input === "" || input.startsWith("#")) return null;
  const split = /[ \t]/.exec(input);
  let name = split === null ? input : input.slice(0, split.index);
  let rest = split === null ? "" : input.slice(split.index + 1).replace(/^\s+/, "");
  if (name.startsWith("--")) name = name.slice(2);
  const equals = name.indexOf("=");
  if (equals > 0) {
    if (rest !== "" && !rest.startsWith("#")) return { reason: "a value after name=value" };
    return { name: name.slice(0, equals), value: name.slice(equals + 1) };
  }
  if (!/^[a-z0-9][a-z0-9-]*$/i.test(name)) return { reason: `"${name}" is not an option name` };
  if (rest === "" || rest.startsWith("#")) return { name, value: null };
  if (rest.startsWith('"')) {
    // Up to the next quote that is not escaped; after it only white space or a comment.
    const close = /(?<!\\)"/.exec(rest.slice(1));
    if (close === null) return { reason: "a quoted value without its closing quote" };
    const value = rest.slice(1, 1 + close.index).replaceAll('\\"', '"');
    const after = rest.slice(2 + close.index).trim();
    if (after !== "" && !after.startsWith("#")) return { reason: "more than one value" };
    // CRIU cuts a value at its first `#`, even inside quotes.
    if (value.includes("#")) return { reason: "a `#` inside a value (CRIU reads it as a comment)" };
    return { name, value };
  }
  const word = /^\S+/.exec(rest)![0];
  const after = rest.slice(word.length).trim();
  if (after !== "" && !after.startsWith("#")) return { reason: "more than one value (quote a value that holds white space)" };
  const hash = word.indexOf("#");
  return { name, value: hash >= 0 ? word.slice(0, hash) : word.replaceAll('\\"', '"') };
}

// The file CRIU reads back as `options`, in order. Throws on a value CRIU cannot be given
// in its format (one with a `#`, or a quoted one ending in a backslash).
export function renderCriuConfig(options: readonly Pick<CriuConfigOption, "name" | "value">[]): string {
  return options.map((o) => (o.value === null ? o.name : `${o.name} ${renderValue(o.name, o.value)}`)).map((l) => `${l}\n`).join("");
}

function renderValue(name: string, value: string): string {
  if (value.includes("#") || value.includes("\n")) throw new Error(`the value of ${name} cannot be written in a CRIU config file: ${JSON.stringify(value)}`);
  if (value !== "" && !/[\s"]/.test(value)) return value;
  if (value.endsWith("\\")) throw new Error(`the value of ${name} cannot be quoted for CRIU: ${JSON.stringify(value)}`);
  return `"${value.replaceAll('"', '\\"')}"`;
}

// What an option sets: `no-X` sets what X sets, a namespace to join is per namespace kind.
export function optionKey(o: Pick<CriuConfigOption, "name" | "value">): string {
  if (o.name === "join-ns") return `join-ns ${(o.value ?? "").split(":")[0]}`;
  return o.name.startsWith("no-") && o.name !== "no-default-config" ? o.name.slice(3) : o.name;
}

// The last setting of boolean option `name` (`name` or `no-name`) among `options`, or
// undefined when none sets it: CRIU applies them in order.
export function booleanSetting(options: readonly Pick<CriuConfigOption, "name">[], name: string): boolean | undefined {
  let setting: boolean | undefined;
  for (const o of options) {
    if (o.name === name) setting = true;
    else if (o.name === `no-${name}`) setting = false;
  }
  return setting;
}

// How an option is written in messages: `tcp-close`, `log-file mine.log`.
export function describeOption(o: Pick<CriuConfigOption, "name" | "value">): string {
  return o.value === null ? o.name : `${o.name} ${o.value === "" ? '""' : o.value}`;
}
