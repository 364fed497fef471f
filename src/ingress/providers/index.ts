import type { ProviderName } from "../../domain/types";
import { github } from "./github";
import { hmac } from "./hmac";
import { podium } from "./podium";
import type { Provider } from "./provider";
import { shopify } from "./shopify";
import { slack } from "./slack";
import { standardWebhooks } from "./standard-webhooks";
import { stripe } from "./stripe";

/** Every provider, by name. Adding one: docs/adding-a-provider.md. */
export const providers: Record<ProviderName, Provider> = {
  podium,
  "standard-webhooks": standardWebhooks,
  stripe,
  github,
  shopify,
  slack,
  hmac,
};
