// What the tests read of wrangler.toml, as the platform will.
import wranglerToml from "../../wrangler.toml?raw";

/** A setting of one `[[queues.consumers]]` block of wrangler.toml. */
export function consumerSetting(queue: string, key: string): number | undefined {
  const block = wranglerToml
    .split("[[queues.consumers]]")
    .slice(1)
    .find((b) => new RegExp(`^queue\\s*=\\s*"${queue}"`, "m").test(b.split(/^\[/m)[0]!));
  const m = block?.split(/^\[/m)[0]!.match(new RegExp(`^${key}\\s*=\\s*(\\d+)`, "m"));
  return m ? Number(m[1]) : undefined;
}
