// What a destructive button asks, in one place: its dialog (with JavaScript) and its confirm page
// (without) must ask the same.

export const ASK = {
  deleteWebhook: (uid: string) => `Delete webhook ${uid}? What it is still owed expires; this cannot be undone.`,
  deleteSource: (id: string) => `Delete source ${id}? Its ingress URL refuses every request from then on.`,
  deleteEndpoint: (uid: string) => `Delete notification endpoint ${uid}? It gets no more alerts.`,
};
