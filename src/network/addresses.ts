// IP address arithmetic for network planning: parse to numbers, write one canonical form
// (so 2001:DB8:0::5 and 2001:db8::5 are one address), prefixes, and what an address is
// for. Pure.
import { isIP } from "node:net";

export interface ParsedAddress {
  family: 4 | 6;
  value: bigint;
}

export function parseAddress(text: string): ParsedAddress | null {
  const family = isIP(text);
  if (family === 4) return { family, value: text.split(".").reduce((v, part) => (v << 8n) | BigInt(Number(part)), 0n) };
  if (family !== 6 || text.includes(".")) return null;
  const [head = "", tail] = text.toLowerCase().split("::");
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  if (all.length !== 8) return null;
  return { family: 6, value: all.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

export function formatAddress(a: ParsedAddress): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 255n)).join(".");
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => ((a.value >> s) & 0xffffn).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.len < 2) return groups.join(":");
  return `${groups.slice(0, best.at).join(":")}::${groups.slice(best.at + best.len).join(":")}`;
}

// An address in its canonical form; the text itself when it is not an address.
export function canonicalAddress(text: string): string {
  const a = parseAddress(text);
  return a === null ? text : formatAddress(a);
}

export interface ParsedCidr extends ParsedAddress {
  prefix: number;
}

export function parseCidr(text: string): ParsedCidr | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return null;
  const a = parseAddress(m[1]!);
  const prefix = Number(m[2]);
  if (a === null || prefix > (a.family === 4 ? 32 : 128)) return null;
  return { ...a, prefix };
}

export function formatCidr(c: ParsedCidr): string {
  return `${formatAddress(c)}/${c.prefix}`;
}

// Whether `a` lies in the subnet of `c`.
export function inSubnet(a: ParsedAddress, c: ParsedCidr): boolean {
  if (a.family !== c.family) return false;
  const bits = BigInt(c.family === 4 ? 32 : 128);
  const host = bits - BigInt(c.prefix);
  return a.value >> host === c.value >> host;
}

// Why an address cannot be a container's own (null when it can): the unspecified,
// loopback, multicast and limited broadcast addresses, IPv6 link-local (the kernel gives
// each interface its own), the subnet's own network and broadcast addresses, prefix 0.
export function unusableAddress(c: ParsedCidr): string | null {
  const within = (cidr: string) => inSubnet(c, parseCidr(cidr)!);
  if (c.prefix === 0) return "a prefix length of 0 would route every address through eth0";
  if (c.family === 4) {
    if (within("0.0.0.0/8")) return "0.0.0.0/8 is not a host address";
    if (within("127.0.0.0/8")) return "127.0.0.0/8 is loopback (the container has its own lo)";
    if (within("224.0.0.0/4")) return "224.0.0.0/4 is multicast";
    if (within("255.255.255.255/32")) return "255.255.255.255 is the limited broadcast address";
    if (c.prefix <= 30) {
      const host = BigInt(32 - c.prefix);
      const hostPart = c.value & ((1n << host) - 1n);
      if (hostPart === 0n) return `it is the network address of ${formatAddress({ family: 4, value: c.value - hostPart })}/${c.prefix}`;
      if (hostPart === (1n << host) - 1n) return `it is the broadcast address of ${formatAddress({ family: 4, value: c.value - hostPart })}/${c.prefix}`;
    }
    return null;
  }
  if (c.value === 0n) return ":: is not a host address";
  if (c.value === 1n) return "::1 is loopback (the container has its own lo)";
  if (within("ff00::/8")) return "ff00::/8 is multicast";
  if (within("fe80::/10")) return "fe80::/10 is link-local: the kernel gives eth0 its own";
  return null;
}
