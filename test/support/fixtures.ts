// Reads fixtures recorded from real hosts and real tools (test/fixtures/).
import { readFileSync } from "node:fs";
import type { HostFacts } from "../../src/doctor/host-facts.ts";

const root = new URL("../fixtures/", import.meta.url);

export function fixtureText(path: string): string {
  return readFileSync(new URL(path, root), "utf8");
}

// Host facts recorded with `ckpt doctor --facts`; each call returns a fresh copy to modify.
export function hostFacts(name: "debian12-ready" | "debian12-fresh"): HostFacts {
  return JSON.parse(fixtureText(`host/${name}.json`)) as HostFacts;
}
