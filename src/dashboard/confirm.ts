// What a destructive button asks, in one place: its dialog (with JavaScript) and its confirm page
// (without) must ask the same.

export const ASK = {
  deleteWebhook: (uid: string) => `Delete webhook ${uid}? What it is still owed expires; this cannot be undone.`,
  deleteSource: (id: string) => `Delete source ${id}? Its ingress URL refuses every request from then on.`,
  deleteEndpoint: (uid: string) => `Delete notification endpoint ${uid}? It gets no more alerts.`,
  revokeToken: (id: string) => `Revoke token ${id}? It stops working at once, and its dashboard sessions end; this cannot be undone.`,
  endPreviousSecret: (uid: string) =>
    `End the previous secret of webhook ${uid} now? Deliveries are signed with the current secret alone from then on: a receiver still verifying with the previous one refuses them; this cannot be undone.`,
  deleteDeadLetter: (id: string) => `Delete dead letter ${id}? It is no longer counted nor can be replayed; do so only once it is handled otherwise.`,
};
