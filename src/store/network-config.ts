// How a container is networked, as ckpt records it with the container and carries it in
// every checkpoint (config.dump), so that a restore here or on another host can build the
// same network namespace before CRIU puts the processes back into it.
import { z } from "zod";

// An address with its prefix length, as `ip addr` takes it: 192.0.2.5/24, 2001:db8::5/64.
const CidrSchema = z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/);
// A unicast MAC address, lower case.
const MacSchema = z.string().regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
// A Linux interface name (at most 15 bytes, no slash or whitespace).
const IfNameSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/);

// The container's end of a veth pair; the other end stays in ckpt's own network namespace
// (the host's), on a bridge when one is named.
export const VethSchema = z.object({
  name: IfNameSchema,
  mac: MacSchema,
  addresses: z.array(CidrSchema),
  hostEnd: z.object({ name: IfNameSchema, bridge: IfNameSchema.nullable() }),
  mtu: z.number().int().min(68).max(65535).nullable(),
});
export type Veth = z.infer<typeof VethSchema>;

export const RouteSchema = z.object({
  // "default" or an address with its prefix.
  destination: z.union([z.literal("default"), CidrSchema]),
  via: z.string().regex(/^[0-9a-fA-F:.]+$/),
});
export type Route = z.infer<typeof RouteSchema>;

export const NetworkConfigSchema = z.discriminatedUnion("mode", [
  // A network namespace ckpt creates, configures and recreates before every restore:
  // loopback up (127.0.0.1/8, ::1), plus the veth interfaces listed.
  z.object({
    mode: z.literal("private"),
    interfaces: z.array(VethSchema),
    routes: z.array(RouteSchema),
  }),
  // A namespace the operator manages (podman's ns:PATH): ckpt neither creates nor changes
  // it; it must exist, configured, wherever the container is restored.
  z.object({ mode: z.literal("ns"), path: z.string().startsWith("/") }),
  // The host's network namespace (the spec asks for none of the container's own).
  z.object({ mode: z.literal("host") }),
]);
export type NetworkConfig = z.infer<typeof NetworkConfigSchema>;

// How the operator names a mode on the command line (podman's names).
export type NetworkModeFlag = "none" | "private" | "host" | { ns: string };

export function describeNetwork(config: NetworkConfig | undefined): string {
  if (config === undefined) return "as the bundle's spec says (not managed by ckpt)";
  switch (config.mode) {
    case "host":
      return "the host's network namespace";
    case "ns":
      return `the network namespace at ${config.path} (managed by the operator)`;
    case "private": {
      const addresses = config.interfaces.flatMap((i) => i.addresses.map((a) => `${i.name} ${a}${i.hostEnd.bridge ? ` on bridge ${i.hostEnd.bridge}` : ""}`));
      return `a private network namespace: loopback${addresses.length > 0 ? `, ${addresses.join(", ")}` : " only"}`;
    }
  }
}
