import { podium as scheme } from "../../schemes/podium";
import { eventObjectOf } from "../../domain/event-types";
import {
  dedupeKeyOr,
  jsonObject,
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
 * organization it knows for the first, while a review invite (the invite link types) names its
 * `location` with its organization. Other types read `data.location`. (A Map: the
 * object is the body's to name, and a plain object's lookup finds `__proto__` or `toString`.)
 */
const OWNER_PATHS = new Map<string, OwnerPaths>([
  ["message", LOCATION_OF_DATA],
  ["invoice", LOCATION_OF_DATA],
  [
    "contact",
    {
      organization: [["data", "after", "organization", "uid"], ["data", "before", "organization", "uid"], ...LOCATION_OF_DATA.organization],
      location: LOCATION_OF_DATA.location,
    },
  ],
  // A review names its locations only; a review invite (invite_link_*) its location and its organization.
  ["review", { organization: LOCATION_OF_DATA.organization, location: [["data", "locations", "0", "uid"], ...LOCATION_OF_DATA.location] }],
]);

/** After an object's own paths, for every type. */
const FALLBACK: OwnerPaths = { organization: [["metadata", "organizationUid"]], location: [["metadata", "locationUid"]] };

/** Podium: signed as src/schemes/podium.ts says; facts from where each object documents its owner. */
export const podium: Provider = {
  name: "podium",

  scheme: () => scheme,

  async facts(req, body) {
    const event = jsonObject(body, "Podium");
    const eventType = stringAt(event, "metadata", "eventType") ?? stringAt(event, "metadata", "event_type") ?? "unknown";
    const owner = OWNER_PATHS.get(eventObjectOf(eventType)) ?? LOCATION_OF_DATA;
    const first = (paths: Path[]) => paths.flatMap((path) => {
      const value = stringAt(event, ...path);
      return value === null ? [] : [{ value, within: path.slice(0, -1).join(".") }];
    })[0];
    const [location, organization] = [first([...owner.location, ...FALLBACK.location]), first([...owner.organization, ...FALLBACK.organization])];
    return {
      dedupeKey: await dedupeKeyOr(stringAt(event, "metadata", "eventUid"), req.raw),
      eventType,
      locationUid: location?.value ?? null,
      organizationUid: organization?.value ?? null,
      // Only an object naming a location and its organization says where the location belongs (docs/podium.md):
      // a contact's own organization beside its `data.location` is the contact's, which may be another's.
      ...(location && organization && location.within !== organization.within ? { teaches: false as const } : {}),
    };
  },

  storedHeaders: () => STORED_HEADERS,
};
