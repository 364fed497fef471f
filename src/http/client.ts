/** The address a request comes from (Cloudflare sets the header on every request it forwards). */
export const clientAddress = (header: (name: string) => string | undefined): string => header("cf-connecting-ip") ?? "unknown";
