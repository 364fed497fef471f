// What the tests read of wrangler.toml's text, as the platform will: the workerd tests have it
// by import (test/worker/wrangler-config.ts), the Node ones from the file.

/** A setting of one `[[queues.consumers]]` block of `toml`. */
export function consumerSettingIn(toml: string, queue: string, key: string): number | undefined {
  const block = toml
    .split("[[queues.consumers]]")
    .slice(1)
    .find((b) => new RegExp(`^queue\\s*=\\s*"${queue}"`, "m").test(b.split(/^\[/m)[0]!));
  const m = block?.split(/^\[/m)[0]!.match(new RegExp(`^${key}\\s*=\\s*(\\d+)`, "m"));
  return m ? Number(m[1]) : undefined;
}
