// The limit the ingress is measured against: read the body, answer 202, nothing else.
export default {
  /** @param {Request} request */
  async fetch(request) {
    await request.arrayBuffer();
    return new Response('{"eventId":"evt_baseline"}', { status: 202, headers: { "content-type": "application/json" } });
  },
};
