// The network flags `run` and `restore` share, as commander hands them over, and the
// request they make.
import { parseNetworkMode, type NetworkRequest } from "../network/plan-network.ts";

export interface NetworkFlags {
  network?: string;
  ip?: string[];
  gateway?: string;
  bridge?: string;
  macAddress?: string;
  mtu?: number;
}

// The request, or undefined when no network flag was given.
export function networkRequest(flags: NetworkFlags): NetworkRequest | undefined {
  const given = [flags.network, flags.ip, flags.gateway, flags.bridge, flags.macAddress, flags.mtu].some((v) => v !== undefined);
  if (!given) return undefined;
  return {
    mode: flags.network === undefined ? undefined : parseNetworkMode(flags.network),
    ips: flags.ip,
    gateway: flags.gateway,
    bridge: flags.bridge,
    mac: flags.macAddress,
    mtu: flags.mtu,
  };
}
