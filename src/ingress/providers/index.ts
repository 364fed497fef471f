import type { ProviderName } from "../../domain/types";
import { podium } from "./podium";
import type { Provider } from "./provider";
import { standardWebhooks } from "./standard-webhooks";

export const providers: Record<ProviderName, Provider> = {
  podium,
  "standard-webhooks": standardWebhooks,
};

export const providerNames = Object.keys(providers) as ProviderName[];
