/**
 * What `wirelab serve --class` prints for people, once, at start: where students join, where the
 * instructor opens the dashboard, and the instructor key. The JSON log stays for machines.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";

/** Bound to every address: each of this machine's addresses reaches the server. */
function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

function hostInUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * The links students open: every non-internal IPv4 address of this machine when bound to all of
 * them (IPv6 link-local addresses are no use to type into a browser), else the bound address.
 */
export function studentLinks(host: string, port: number, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  if (!isWildcard(host)) return [`http://${hostInUrl(host)}:${port}/`];
  const addresses = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === "IPv4" && !a.internal)
    .map((a) => a.address);
  return [...new Set(addresses)].map((address) => `http://${address}:${port}/`);
}

/**
 * The instructor's link: loopback when it reaches the server, so the instructor's page is on this
 * machine. `?instructor` only opens the key field of the join form; the key itself is never in a URL.
 */
export function instructorLink(host: string, port: number): string {
  const where = isWildcard(host) || host === "localhost" || host.startsWith("127.") ? "127.0.0.1" : hostInUrl(host);
  return `http://${where}:${port}/?instructor`;
}

export function classBanner(options: { host: string; port: number; instructorKey: string; classCode?: string | null; interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]> }): string {
  const { host, port, instructorKey, classCode } = options;
  const students = studentLinks(host, port, options.interfaces);
  return [
    "",
    "wirelab class server",
    "",
    "  Students join at:",
    ...(students.length > 0 ? students.map((link) => `    ${link}`) : ["    (no network address found: is this machine on the class network?)"]),
    ...(classCode ? [`  with the class code: ${classCode}`] : []),
    "",
    "  Instructor (on this machine): open",
    `    ${instructorLink(host, port)}`,
    "  tick \"I am the instructor\" and give the instructor key:",
    `    ${instructorKey}`,
    "  Keep the key to yourself: it grants the network & faults controls. It is not printed again.",
    "",
    "Ctrl-C stops the server.",
    "",
  ].join("\n");
}
