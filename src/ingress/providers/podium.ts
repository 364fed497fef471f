import { concatBytes, hexToBytes, utf8, verifyHmacAny, withinTolerance } from "../../domain/crypto";
import {
  dedupeKeyOr,
  invalidSignature,
  jsonObject,
  missingSignature,
  staleTimestamp,
  stringAt,
  type Provider,
} from "./provider";

const STORED_HEADERS = ["podium-timestamp"] as const;
type Path = string[];
interface OwnerPaths {
  organization: Path[];
  location: Path[];
}

const LOCATION_OF_DATA: OwnerPaths = { organization: [["data", "location", "organizationUid"]], location: [["data", "location", "uid"]] };

/**
 * Where each Podium object documents its owner, in order of preference. A message
 * and an invoice name their location and its organization; a contact belongs to an
 * organization (`after`, or `before` once deleted; a `data.location` beside them
 * is read too); a review names only its locations, and the ingest consumer adds the
 * organization it knows for the first. Other types read `data.location`.
 */
const OWNER_PATHS: Record<string, OwnerPaths> = {
  message: LOCATION_OF_DATA,
  invoice: LOCATION_OF_DATA,
  contact: {
    organization: [["data", "after", "organization", "uid"], ["data", "before", "organization", "uid"], ...LOCATION_OF_DATA.organization],
    location: LOCATION_OF_DATA.location,
  },
  review: { organization: [], location: [["data", "locations", "0", "uid"]] },
};

/** After an object's own paths, for every type. */
const FALLBACK: OwnerPaths = { organization: [["metadata", "organizationUid"]], location: [["metadata", "locationUid"]] };

/**
 * Podium: `podium-signature` is the hex HMAC-SHA256 of `${podium-timestamp}.${rawBody}`,
 * keyed by the secret's UTF-8 bytes. The timestamp is epoch ms (13 digits) or seconds.
 */
export const podium: Provider = {
  name: "podium",

  async verify(req, source) {
    const timestamp = req.headers.get("podium-timestamp")?.trim();
    const signature = req.headers.get("podium-signature")?.trim();
    if (!timestamp || !signature) throw missingSignature("podium-timestamp and podium-signature");
    if (!/^\d{1,16}$/.test(timestamp)) throw invalidSignature("podium-timestamp is not an epoch time.");

    const sig = hexToBytes(signature.replace(/^sha256=/i, ""), 32);
    if (!sig) throw invalidSignature("podium-signature is not a hex HMAC-SHA256.");
    const signed = concatBytes(utf8(`${timestamp}.`), req.raw);
    if (!(await verifyHmacAny(source.secrets, sig, signed))) {
      throw invalidSignature("podium-signature does not match the body under any of the source's secrets.");
    }

    const seconds = timestamp.length >= 13 ? Number(timestamp) / 1000 : Number(timestamp);
    if (!withinTolerance(seconds, req.now, source.toleranceSeconds)) throw staleTimestamp(source.toleranceSeconds);
  },

  async facts(req, body) {
    const event = jsonObject(body, "Podium");
    const eventType = stringAt(event, "metadata", "eventType") ?? stringAt(event, "metadata", "event_type") ?? "unknown";
    const owner = OWNER_PATHS[eventType.split(".")[0]!] ?? LOCATION_OF_DATA;
    const first = (paths: Path[]) => paths.reduce<string | null>((found, path) => found ?? stringAt(event, ...path), null);
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "metadata", "eventUid"), req.raw),
      eventType,
      locationUid: first([...owner.location, ...FALLBACK.location]),
      organizationUid: first([...owner.organization, ...FALLBACK.organization]),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
