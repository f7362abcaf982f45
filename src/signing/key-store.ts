// This host's signing keys and the public keys it trusts, under ROOT/keys (0700): each
// private key a PKCS#8 PEM file of its own (0600, written atomically), each trusted key a
// small JSON record named by its fingerprint. Keys named in the config file (trustedKeys)
// are trusted too, read where they are.
import { generateKeyPairSync } from "node:crypto";
import { hostname } from "node:os";
import { chmod, mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { z } from "zod";
import { CkptError, ExitCode } from "../errors.ts";
import { writeFileAtomic } from "../store/atomic-write.ts";
import type { StoreLayout } from "../store/layout.ts";
import { parsePublicKeyText } from "./public-key-text.ts";
import { chooseSigningKey } from "./trust.ts";
import { fingerprintHex, fingerprintOf, FingerprintSchema, KeyNameSchema, rawPublicKey, shortFingerprint, signingKeyFromPem, type SigningKey } from "./signature.ts";

export interface TrustedKey {
  name: string;
  fingerprint: string;
  // The raw key in base64, when it was given (trusting by fingerprint alone needs none:
  // a signature carries its key, and the fingerprint binds it).
  publicKey: string | null;
  source: "store" | "config";
  // Where it came from: the record, or the config file's entry.
  origin: string;
}

const TrustedKeyRecordSchema = z.object({ formatVersion: z.literal(1), name: KeyNameSchema, fingerprint: FingerprintSchema, publicKey: z.string().nullable() }).strict();

async function privateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}

export async function signingKeyNames(layout: StoreLayout): Promise<string[]> {
  const files = await readdir(layout.signingKeysDir()).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith(".pem") && !f.startsWith(".")).map((f) => f.slice(0, -".pem".length)).sort();
}

export async function loadSigningKey(layout: StoreLayout, name: string): Promise<SigningKey> {
  const path = layout.signingKey(name);
  const info = await stat(path).catch(() => null);
  if (info === null) throw new CkptError(ExitCode.notFound, `no signing key named "${name}" here (${path})`, { hint: "ckpt keys list shows them; ckpt keys generate makes one" });
  if ((info.mode & 0o077) !== 0) {
    throw new CkptError(ExitCode.usage, `refusing the signing key ${path}: others may read it (mode ${(info.mode & 0o777).toString(8)})`, { hint: `chmod 600 ${path}, or generate a new key if others did read it (ckpt keys generate --name ${name} --force)` });
  }
  try {
    return signingKeyFromPem(name, await readFile(path, "utf8"));
  } catch (error) {
    throw new CkptError(ExitCode.usage, `the signing key ${path} is damaged: ${(error as Error).message}`, { hint: `generate a new one: ckpt keys generate --name ${name} --force` });
  }
}

// The key an export signs with: --sign NAME (`requested`), none with --no-sign (false),
// else this host's (the only one, or the one named after the host); null: unsigned.
export async function selectSigningKey(layout: StoreLayout, requested: string | false | undefined): Promise<SigningKey | null> {
  const choice = chooseSigningKey(await signingKeyNames(layout), requested, hostname());
  if ("error" in choice) throw new CkptError(ExitCode.usage, choice.error, { hint: "choose the key with --sign NAME, or export unsigned with --no-sign (ckpt keys list shows the keys)" });
  return choice.name === null ? null : loadSigningKey(layout, choice.name);
}

// A new key pair, trusted here at once. An existing key of that name is replaced only with
// `force`; the replaced key stays trusted (archives it signed still restore as trusted)
// until untrusted.
export async function generateSigningKey(layout: StoreLayout, name: string, force: boolean): Promise<{ key: SigningKey; replaced: string | null }> {
  const path = layout.signingKey(name);
  const exists = (await stat(path).catch(() => null)) !== null;
  // Whatever is there (even a damaged key) is only replaced when asked.
  const previous = exists ? await loadSigningKey(layout, name).catch(() => null) : null;
  if (exists && !force) {
    throw new CkptError(ExitCode.conflict, `a signing key named "${name}" exists (${previous?.fingerprint ?? path})`, { hint: "keep it, or replace it with --force (archives signed by the old key stay trusted here until you untrust it)" });
  }
  await privateDir(layout.keysDir());
  await privateDir(layout.signingKeysDir());
  const { privateKey } = generateKeyPairSync("ed25519");
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await writeFileAtomic(path, pem, 0o600);
  const key = signingKeyFromPem(name, pem);
  await trustKey(layout, { name, fingerprint: key.fingerprint, publicKey: rawPublicKey(key.publicKey).toString("base64") });
  return { key, replaced: previous === null || previous.fingerprint === key.fingerprint ? null : previous.fingerprint };
}

export async function trustKey(layout: StoreLayout, key: { name: string; fingerprint: string; publicKey: string | null }): Promise<void> {
  await privateDir(layout.keysDir());
  await privateDir(layout.trustedKeysDir());
  const record = TrustedKeyRecordSchema.parse({ formatVersion: 1, ...key });
  await writeFileAtomic(layout.trustedKey(fingerprintHex(key.fingerprint)), `${JSON.stringify(record, null, 2)}\n`, 0o600);
}

export async function storedTrustedKeys(layout: StoreLayout): Promise<TrustedKey[]> {
  const files = (await readdir(layout.trustedKeysDir()).catch(() => [] as string[])).filter((f) => f.endsWith(".json") && !f.startsWith("."));
  const keys: TrustedKey[] = [];
  for (const file of files.sort()) {
    const path = join(layout.trustedKeysDir(), file);
    const parsed = TrustedKeyRecordSchema.safeParse(parseJson(await readFile(path, "utf8")));
    // A record that is not what its name says grants nothing: it is refused, not skipped.
    const consistent = parsed.success && fingerprintHex(parsed.data.fingerprint) === file.slice(0, -".json".length) && (parsed.data.publicKey === null || fingerprintOf(Buffer.from(parsed.data.publicKey, "base64")) === parsed.data.fingerprint);
    if (!parsed.success || !consistent) throw new CkptError(ExitCode.usage, `the trusted key record ${path} is damaged`, { hint: `remove it and trust the key again: rm ${path}; ckpt keys trust FILE|FINGERPRINT` });
    keys.push({ ...parsed.data, source: "store", origin: path });
  }
  return keys;
}

// The config file's trustedKeys: fingerprints, or files holding a public key.
export async function configuredTrustedKeys(entries: readonly string[]): Promise<TrustedKey[]> {
  const keys: TrustedKey[] = [];
  for (const entry of entries) {
    if (FingerprintSchema.safeParse(entry).success) {
      keys.push({ name: shortFingerprint(entry), fingerprint: entry, publicKey: null, source: "config", origin: entry });
      continue;
    }
    if (entry.startsWith("SHA256:")) throw new CkptError(ExitCode.usage, `trustedKeys: ${entry} is not a whole fingerprint (SHA256: and 43 base64 digits)`, { hint: "copy it from ckpt keys list on the signing host" });
    const text = await readFile(entry, "utf8").catch((error: Error) => {
      throw new CkptError(ExitCode.usage, `trustedKeys: cannot read ${entry}: ${error.message}`, { hint: "each entry of trustedKeys is a fingerprint (SHA256:...) or a file with a public key (ckpt keys export)" });
    });
    const parsed = parsePublicKeyText(text);
    if ("error" in parsed) throw new CkptError(ExitCode.usage, `trustedKeys: ${entry}: ${parsed.error}`, { hint: "give the output of ckpt keys export" });
    keys.push({ name: parsed.name ?? basename(entry).replace(/\.[^.]*$/, ""), fingerprint: fingerprintOf(parsed.raw), publicKey: parsed.raw.toString("base64"), source: "config", origin: entry });
  }
  return keys;
}

// Every key trusted here, by fingerprint (the store's name wins over the config's).
export async function trustedKeys(layout: StoreLayout, configEntries: readonly string[]): Promise<Map<string, TrustedKey>> {
  const all = [...(await configuredTrustedKeys(configEntries)), ...(await storedTrustedKeys(layout))];
  return new Map(all.map((k) => [k.fingerprint, k]));
}

// Removes the store's trust in the key `selector` names (its fingerprint, a prefix of at
// least 12 digits, or its name); the config file's entries are the operator's to edit.
export async function untrustKey(layout: StoreLayout, selector: string, configEntries: readonly string[]): Promise<TrustedKey> {
  const matches = (k: TrustedKey) => k.fingerprint === selector || k.name === selector || (selector.length >= shortFingerprint(k.fingerprint).length && k.fingerprint.startsWith(selector));
  const stored = (await storedTrustedKeys(layout)).filter(matches);
  if (stored.length > 1) throw new CkptError(ExitCode.usage, `"${selector}" names ${stored.length} trusted keys`, { evidence: stored.map((k) => `${k.fingerprint} ${k.name}`), hint: "give the full fingerprint" });
  const key = stored[0];
  if (key === undefined) {
    const configured = (await configuredTrustedKeys(configEntries)).find(matches);
    if (configured !== undefined) throw new CkptError(ExitCode.usage, `${configured.fingerprint} is trusted by the config file (trustedKeys: ${configured.origin})`, { hint: "remove that entry from the config file (ckpt config shows which file)" });
    throw new CkptError(ExitCode.notFound, `no trusted key "${selector}" here`, { hint: "ckpt keys list shows the trusted keys" });
  }
  await rm(key.origin, { force: true });
  return key;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
