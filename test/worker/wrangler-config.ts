// What the tests read of wrangler.toml, as the platform will.
import wranglerToml from "../../wrangler.toml?raw";
import { consumerSettingIn } from "../support/wrangler-toml";

/** A setting of one `[[queues.consumers]]` block of wrangler.toml. */
export function consumerSetting(queue: string, key: string): number | undefined {
  return consumerSettingIn(wranglerToml, queue, key);
}
