import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeHtmlEntities } from "../../supabase/functions/_shared/motopress/html-entities.ts";
import {
  accommodationSchema,
  accommodationTypeSchema,
  bookingSchema,
  unquoteIcal,
  validateBookingsPage,
  wpErrorSchema,
} from "../../supabase/functions/_shared/motopress/schemas.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/motopress/${name}.json`, import.meta.url), "utf8"));

describe("decodeHtmlEntities", () => {
  it("decodes the entities WordPress emits in titles, numeric and named", () => {
    expect(decodeHtmlEntities("Room &#8211; 101")).toBe("Room \u2013 101");
    expect(decodeHtmlEntities("Bed &#038; Breakfast &amp; Spa")).toBe("Bed & Breakfast & Spa");
    expect(decodeHtmlEntities("Owner&#8217;s Cottage &#x2014; &hellip;")).toBe(
      "Owner\u2019s Cottage \u2014 \u2026",
    );
  });
  it("decodes one level only, leaves unknown and unterminated references alone, and invalid code points as HTML5 does", () => {
    expect(decodeHtmlEntities("&amp;#8211;")).toBe("&#8211;");
    expect(decodeHtmlEntities("AT&T &bogus; R&D &notice")).toBe("AT&T &bogus; R&D &notice");
    expect(decodeHtmlEntities("&#0; &#xD800;")).toBe("\ufffd \ufffd");
  });
  it("knows the whole HTML5 table: Spanish, French and German names, symbols", () => {
    expect(
      decodeHtmlEntities(
        "Caba&ntilde;a &Aacute;rbol &ccedil;a &szlig; &uuml; &iexcl;Ol&eacute;! &frac12; &rarr;",
      ),
    )
      .toBe("Cabaña Árbol ça ß ü ¡Olé! ½ →");
    expect(decodeHtmlEntities("&NotNestedGreaterGreater; &bne;")).toBe("\u2aa2\u0338 =\u20e5");
  });
});

describe("unquoteIcal", () => {
  it("strips exactly one pair of surrounding quotes", () => {
    expect(unquoteIcal('"Reserved"')).toBe("Reserved");
    expect(unquoteIcal('""Reserved""')).toBe('"Reserved"');
    expect(unquoteIcal("Reserved")).toBe("Reserved");
    expect(unquoteIcal('"')).toBe('"');
  });
});

describe("accommodation type schema (reference 4.1)", () => {
  it("normalises the example payload", () => {
    const t = accommodationTypeSchema.parse(fixture("accommodation-type"));
    expect(t).toMatchObject({
      id: 120,
      status: "publish",
      title: "Deluxe Double Room",
      adults: 2,
      children: 1,
      totalCapacity: 3,
      baseAdults: 2,
      baseChildren: 0,
      bedType: "1 king-size bed",
      size: 28,
      serviceIds: [310],
      amenities: ["Air conditioning", "Wi-Fi"],
    });
  });
  it("accepts a 4.2.2 site without base_* fields and maps total_capacity 0 to unlimited", () => {
    const raw = fixture("accommodation-type");
    delete raw.base_adults;
    delete raw.base_children;
    raw.total_capacity = 0;
    const t = accommodationTypeSchema.parse(raw);
    expect(t.baseAdults).toBeNull();
    expect(t.totalCapacity).toBeNull();
  });
  it("rejects a non-positive id", () => {
    expect(accommodationTypeSchema.safeParse({ ...fixture("accommodation-type"), id: 0 }).success).toBe(
      false,
    );
  });
});

describe("accommodation schema (reference 4.2)", () => {
  it("decodes HTML entities in the title", () => {
    const a = accommodationSchema.parse(fixture("accommodation"));
    expect(a).toEqual({
      id: 131,
      status: "publish",
      accommodationTypeId: 120,
      title: "Deluxe Double \u2013 201",
      excerpt: null,
    });
  });
  it("removes the Private: prefix on private units, tolerates targetHints and maps type 0 to null", () => {
    const raw = fixture("accommodation");
    raw.status = "private";
    raw.title = "Private: Bed &#038; Breakfast &#8211; 7";
    raw.accommodation_type_id = 0;
    raw._links.self[0].targetHints = { allow: ["GET"] };
    const a = accommodationSchema.parse(raw);
    expect(a.title).toBe("Bed & Breakfast \u2013 7");
    expect(a.accommodationTypeId).toBeNull();
  });
  it("rejects a string id", () => {
    expect(accommodationSchema.safeParse({ ...fixture("accommodation"), id: "131" }).success).toBe(false);
  });
});

describe("booking schema", () => {
  it("normalises the two-room booking (4.3): fees price key, taxes value key, UTC Z, empty strings to null", () => {
    const b = bookingSchema.parse(fixture("booking-two-rooms"));
    expect(b.id).toBe(4521);
    expect(b.status).toBe("confirmed");
    expect(b.dateCreated).toBe("2025-05-02T14:03:11");
    expect(b.dateCreatedUtc).toBe("2025-05-02T12:03:11Z");
    expect(b.customer).toMatchObject({ firstName: "Laura", lastName: "Gómez", country: "ES" });
    expect(b.reservedAccommodations.map((r) => [r.accommodationId, r.accommodationTypeId, r.rateId])).toEqual(
      [
        [131, 120, 140],
        [137, 125, 146],
      ],
    );
    expect(b.reservedAccommodations[0].fees).toEqual([{ label: "Cleaning fee", amount: 25 }]);
    expect(b.reservedAccommodations[0].taxes.accommodation).toEqual([{ label: "City tax", amount: 7.5 }]);
    expect(b.reservedAccommodations[0].services).toEqual([{ id: 310, quantity: null, adults: 2, price: 60 }]);
    expect(b.reservedAccommodations[1].guestName).toBe("Pablo Gómez");
    expect(b.couponCode).toBeNull();
    expect(b.icalSummary).toBeNull();
    expect(b.totalPrice).toBe(785);
    expect(b.payments).toEqual([{ id: 4522, status: "completed", amount: 235.5, currency: "EUR" }]);
    expect(b.internalNotes[0].dateUtc).toBe("2025-05-03T08:15:42Z");
  });

  it("unquotes iCal strings of the imported Airbnb booking (4.4) and keeps the newline", () => {
    const b = bookingSchema.parse(fixture("booking-airbnb-imported"));
    expect(b.imported).toBe(true);
    expect(b.icalSummary).toBe("Reserved");
    expect(b.icalDescription).toBe(
      "Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMABCD1234\nPhone Number (Last 4 Digits): 4821",
    );
    expect(b.icalProdid).toBe("-//Airbnb Inc//Hosting Calendar 0.8.8//EN");
    expect(b.key).toBeNull();
    expect(b.customer.email).toBeNull();
    expect(b.reservedAccommodations[0].rateId).toBeNull();
    expect(b.reservedAccommodations[0].guestName).toBeNull();
  });

  it("accepts the cancelled booking (4.5) and an Airbnb block written with quotes", () => {
    expect(bookingSchema.parse(fixture("booking-cancelled")).status).toBe("cancelled");
    const block = {
      ...fixture("booking-airbnb-imported"),
      ical_summary: '"Airbnb (Not available)"',
      ical_description: "",
    };
    const b = bookingSchema.parse(block);
    expect(b.icalSummary).toBe("Airbnb (Not available)");
    expect(b.icalDescription).toBeNull();
  });

  it("tolerates a pre-4.2.5 site (no guest_name), fees with value, and an empty PHP array for taxes", () => {
    const raw = fixture("booking-two-rooms");
    delete raw.reserved_accommodations[0].guest_name;
    raw.reserved_accommodations[0].fees = [{ label: "Cleaning fee", value: 30 }];
    raw.reserved_accommodations[1].taxes = [];
    raw._links.extra_rel = [{ href: "https://x", foo: 1 }];
    raw.custom_addon_field = { anything: true };
    const b = bookingSchema.parse(raw);
    expect(b.reservedAccommodations[0].guestName).toBeNull();
    expect(b.reservedAccommodations[0].fees).toEqual([{ label: "Cleaning fee", amount: 30 }]);
    expect(b.reservedAccommodations[1].taxes).toEqual({ accommodation: [], services: [], fees: [] });
  });

  it.each([
    ["unknown status", { status: "trash" }, "status"],
    ["non-calendar date", { check_in_date: "2025-02-30" }, "check_in_date"],
    ["d/m/Y date", { check_out_date: "13/07/2025" }, "check_out_date"],
    ["check-out before check-in", { check_out_date: "2025-07-01" }, "check_out_date"],
    ["negative id", { id: -4 }, "id"],
    ["datetime with offset", { date_created_utc: "2025-05-02T12:03:11+00:00" }, "date_created_utc"],
  ])("rejects %s", (_label, patch, path) => {
    const result = bookingSchema.safeParse({ ...fixture("booking-two-rooms"), ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.path.join("."))).toContain(path);
  });

  it("accepts a reserved room whose accommodation id is 0 (the mapper quarantines it, saying why)", () => {
    const raw = fixture("booking-two-rooms");
    raw.reserved_accommodations[1].accommodation = 0;
    expect(bookingSchema.parse(raw).reservedAccommodations[1].accommodationId).toBe(0);
    raw.reserved_accommodations[1].accommodation = -1;
    expect(bookingSchema.safeParse(raw).success).toBe(false);
  });
});

describe("validateBookingsPage", () => {
  it("keeps valid items and reports each invalid one with its id, reason and raw body", () => {
    const bad = { ...fixture("booking-cancelled"), id: 4589, status: "on-hold" };
    const noId = { hello: "world" };
    const page = validateBookingsPage([
      fixture("booking-two-rooms"),
      bad,
      fixture("booking-airbnb-imported"),
      noId,
    ]);
    expect(page.items.map((b) => b.id)).toEqual([4521, 4630]);
    expect(page.itemErrors).toHaveLength(2);
    expect(page.itemErrors[0].id).toBe(4589);
    expect(page.itemErrors[0].reason).toMatch(/^status: /);
    expect(page.itemErrors[0].raw).toBe(bad);
    expect(page.itemErrors[1].id).toBeNull();
    expect(page.itemErrors[1].reason).toContain("id:");
  });
});

describe("WordPress error body", () => {
  it.each(["error-cannot-view", "error-wrong-secret", "error-invalid-booking-id", "error-per-page"])(
    "parses %s",
    (name) => {
      const e = wpErrorSchema.parse(fixture(name));
      expect(e.code).toMatch(/^[a-z_]+$/);
      expect(typeof e.data?.status).toBe("number");
    },
  );
  it("accepts data: null (errors from WP core or other plugins)", () => {
    expect(wpErrorSchema.parse({ code: "x", message: "y", data: null }).data).toBeNull();
  });
});
