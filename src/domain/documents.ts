// A body as the filter and the transform read it.

/** A JSON body as data; any other body as one string. */
export function parseBody(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
