// `ckpt keys generate|list|trust|untrust|export`: this host's signing keys, and the keys
// whose signed archives it restores as trusted.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename } from "node:path";
import { text } from "node:stream/consumers";
import { openStore } from "../container/context.ts";
import { CkptError, ExitCode } from "../errors.ts";
import type { GlobalOptions } from "../global-options.ts";
import { colors } from "../output/color.ts";
import { printJson } from "../output/json.ts";
import { renderTable } from "../output/table.ts";
import { configuredTrustedKeys, generateSigningKey, loadSigningKey, selectSigningKey, signingKeyNames, storedTrustedKeys, trustKey, untrustKey } from "../signing/key-store.ts";
import { parsePublicKeyText, publicKeyLine, publicKeyPem } from "../signing/public-key-text.ts";
import { fingerprintOf, FingerprintSchema, KEY_NAME_PATTERN, rawPublicKey, shortFingerprint } from "../signing/signature.ts";

function configuredEntries(options: GlobalOptions): readonly string[] {
  return options.settings.trustedKeys.value;
}

function keyName(name: string | undefined, fallback: string): string {
  const chosen = name ?? fallback;
  if (!KEY_NAME_PATTERN.test(chosen)) throw new CkptError(ExitCode.usage, `"${chosen}" is not a key name`, { hint: "letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit: --name NAME" });
  return chosen;
}

export async function keysGenerateCommand(options: GlobalOptions & { name?: string; force?: boolean }): Promise<void> {
  const store = openStore(options);
  const name = keyName(options.name, hostname());
  const { key, replaced } = await generateSigningKey(store.layout, name, options.force === true);
  const line = publicKeyLine(rawPublicKey(key.publicKey), name);
  if (options.json) {
    printJson({ name, fingerprint: key.fingerprint, path: store.layout.signingKey(name), publicKey: line, replaced });
    return;
  }
  const c = colors(options);
  process.stdout.write(
    `${c.green("generated")} signing key ${c.bold(name)} (${key.fingerprint}), trusted here\n` +
      `  private key: ${store.layout.signingKey(name)} (0600)\n` +
      `  exports and migrations from this host are now signed with it\n` +
      (replaced === null ? "" : c.yellow(`  the replaced key ${replaced} is still trusted here; untrust it with: ckpt keys untrust ${replaced}\n`)) +
      c.dim(`  let another host trust it: ckpt keys export ${name} | ssh HOST ckpt keys trust -\n`),
  );
}

export async function keysListCommand(options: GlobalOptions): Promise<void> {
  const store = openStore(options);
  const signing = await Promise.all((await signingKeyNames(store.layout)).map((n) => loadSigningKey(store.layout, n)));
  const own = new Set(signing.map((k) => k.fingerprint));
  const trusted = [...(await storedTrustedKeys(store.layout)), ...(await configuredTrustedKeys(configuredEntries(options)))];
  if (options.json) {
    printJson({
      signing: signing.map((k) => ({ name: k.name, fingerprint: k.fingerprint, short: shortFingerprint(k.fingerprint), path: store.layout.signingKey(k.name) })),
      trusted: trusted.map((k) => ({ name: k.name, fingerprint: k.fingerprint, short: shortFingerprint(k.fingerprint), source: k.source, origin: k.origin, own: own.has(k.fingerprint) })),
    });
    return;
  }
  const c = colors(options);
  const out: string[] = [c.bold("signing keys (this host's)")];
  out.push(...(signing.length === 0 ? [c.dim("  none: exports are unsigned (ckpt keys generate)")] : renderTable([["NAME", "FINGERPRINT"], ...signing.map((k) => [k.name, k.fingerprint])]).map((l) => `  ${l}`)));
  out.push("", c.bold("trusted keys (their signed archives restore with their own spec)"));
  out.push(...(trusted.length === 0 ? [c.dim("  none")] : renderTable([["NAME", "FINGERPRINT", "FROM"], ...trusted.map((k) => [k.name, k.fingerprint, k.source === "config" ? `config (${k.origin})` : own.has(k.fingerprint) ? "this host" : "keys trust"])]).map((l) => `  ${l}`)));
  process.stdout.write(`${out.join("\n")}\n`);
}

// `what`: a fingerprint, a file with a public key (ckpt keys export's), or - for standard input.
export async function keysTrustCommand(what: string, options: GlobalOptions & { name?: string }): Promise<void> {
  const store = openStore(options);
  let key: { name: string; fingerprint: string; publicKey: string | null };
  if (what.startsWith("SHA256:")) {
    if (!FingerprintSchema.safeParse(what).success) throw new CkptError(ExitCode.usage, `${what} is not a whole fingerprint (SHA256: and 43 base64 digits)`, { hint: "copy it from ckpt keys list on the signing host, or trust the key itself: ckpt keys export | ... ckpt keys trust -" });
    key = { name: keyName(options.name, shortFingerprint(what).replace(/[^A-Za-z0-9._-]/g, "_")), fingerprint: what, publicKey: null };
  } else {
    const content = what === "-" ? await text(process.stdin) : await readFile(what, "utf8").catch((error: Error) => {
      throw new CkptError(ExitCode.notFound, `cannot read ${what}: ${error.message}`, { hint: "give a file written by ckpt keys export, - for standard input, or a fingerprint (SHA256:...)" });
    });
    const parsed = parsePublicKeyText(content);
    if ("error" in parsed) throw new CkptError(ExitCode.usage, `${what === "-" ? "standard input" : what}: ${parsed.error}`, { hint: "give what ckpt keys export printed on the signing host" });
    key = { name: keyName(options.name, parsed.name ?? basename(what).replace(/\.[^.]*$/, "")), fingerprint: fingerprintOf(parsed.raw), publicKey: parsed.raw.toString("base64") };
  }
  await trustKey(store.layout, key);
  if (options.json) printJson({ name: key.name, fingerprint: key.fingerprint, publicKey: key.publicKey !== null });
  else process.stdout.write(`${colors(options).green("trusted")} ${key.name} (${key.fingerprint}): archives it signs restore here with their own spec and restart policy\n`);
}

export async function keysUntrustCommand(selector: string, options: GlobalOptions): Promise<void> {
  const removed = await untrustKey(openStore(options).layout, selector, configuredEntries(options));
  if (options.json) printJson({ name: removed.name, fingerprint: removed.fingerprint });
  else process.stdout.write(`no longer trusted: ${removed.name} (${removed.fingerprint}); archives it signs are foreign here now\n`);
}

export async function keysExportCommand(name: string | undefined, options: GlobalOptions & { pem?: boolean }): Promise<void> {
  const store = openStore(options);
  const key = await selectSigningKey(store.layout, name);
  if (key === null) throw new CkptError(ExitCode.notFound, "this host has no signing key", { hint: "ckpt keys generate" });
  const raw = rawPublicKey(key.publicKey);
  if (options.json) printJson({ name: key.name, fingerprint: key.fingerprint, publicKey: publicKeyLine(raw, key.name), pem: publicKeyPem(raw) });
  else process.stdout.write(options.pem === true ? publicKeyPem(raw) : `${publicKeyLine(raw, key.name)}\n`);
}
