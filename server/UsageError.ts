/** A command line that cannot be run as written: the CLI prints the reason and exits with 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A UsageError, or node:util parseArgs' own refusal of the command line (an unknown option, a missing value). */
export function isUsageError(error: unknown): boolean {
  return error instanceof UsageError || Boolean((error as { code?: unknown } | null)?.code?.toString().startsWith("ERR_PARSE_ARGS"));
}
