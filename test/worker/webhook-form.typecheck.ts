// Checked by `npm run typecheck` alone (no test runs it): the webhook form's props say whether it
// creates or edits, and a create form without `owners` (whom the webhook may be for) does not
// compile, as it would leave out the organization and location fields. Each `@ts-expect-error`
// fails the check once the props it marks compile.
import type { WebhookFormProps } from "../../src/dashboard/pages/webhooks";

const defaults = { timeoutMs: 10_000, maxAttempts: 5 };
declare const webhook: Extract<WebhookFormProps, { webhook: object }>["webhook"];

export const props: WebhookFormProps[] = [
  { defaults, owners: { anyone: true } },
  { webhook, entered: {} },
  // @ts-expect-error a create form without owners
  { defaults, entered: {} },
  // @ts-expect-error an edit form given owners (its organization and location are fixed)
  { webhook, owners: { anyone: true } },
];
