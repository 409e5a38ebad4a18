#!/usr/bin/env python3
"""Writes the hostile request corpus: tests/hostile/scim.jsonl and
tests/hostile/admin.jsonl, one request per line, in a stable order.

Run it again after changing a case (`python3 tests/hostile/generate.py`); the
end-to-end test `hostile` replays both files. Each line is a JSON object:

  id        unique name of the case
  category  what it tries (the test prints a count per category)
  method    HTTP method
  path      relative to the SCIM base (/scim/v2) or the admin base (/api/v1),
            already percent-encoded; {user}, {user2}, {group}, {rule} and
            {template} are replaced by the seeded organization's ids, {fill}
            by the expansion of `fill`
  headers   extra request headers (optional); "content-type" overrides the
            default (application/scim+json for SCIM, application/json for the
            admin API, sent only with a body)
  body      the body as text (optional), with {fill} and the ids replaced
  body_hex  the body as raw bytes, hex (optional; for invalid UTF-8)
  fill      {"text": ..., "times": n}: what {fill} expands to (optional)
  token     scim | admin | none | garbage (optional; the file's own kind)
  expect    {"status": 400} or {"class": "4xx"}, and "scimType" or "code"
            when the answer must name one; "accepted": "why" on a 2xx,
            which must leave stored state unchanged as well
"""

import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# the seeded first user's userName (see tests/tests/e2e/hostile.rs)
U1 = "hostile.one@example.com"

scim, admin = [], []


def case(out, cid, category, method, path, expect, **kw):
    body = kw.get("body")
    if body is not None and kw.get("fill") is None:
        # one long run of a character is written as {fill}, to keep the file readable
        m = re.search(r"(.)\1{999,}", body)
        if m:
            kw["body"] = body[: m.start()] + "{fill}" + body[m.end():]
            kw["fill"] = {"text": m.group(1), "times": len(m.group(0))}
    c = {"id": cid, "category": category, "method": method, "path": path}
    c.update({k: v for k, v in kw.items() if v is not None})
    c["expect"] = expect
    out.append(c)


def js(v):
    return json.dumps(v, ensure_ascii=False)


def patch(*ops):
    return js({"schemas": [PATCH], "Operations": list(ops)})


def enc(s):
    out = []
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch.isascii() and (ch.isalnum() or ch in "-_.~"):
            out.append(ch)
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def err(status, scim_type=None):
    e = {"status": status}
    if scim_type:
        e["scimType"] = scim_type
    return e


def problem(status, code):
    return {"status": status, "code": code}


OK_READ = "a read: answers 200 and changes nothing"

# ---------------------------------------------------------------- SCIM
SCIM_BODY_ENDPOINTS = [
    ("POST", "/Users"),
    ("PUT", "/Users/{user}"),
    ("PATCH", "/Users/{user}"),
    ("POST", "/Groups"),
    ("PUT", "/Groups/{group}"),
    ("PATCH", "/Groups/{group}"),
    ("POST", "/Users/.search"),
    ("POST", "/Groups/.search"),
    ("POST", "/.search"),
]
MALFORMED = [
    ("truncated", '{"userName": "x'),
    ("trailing-comma", '{"userName": "x",}'),
    ("single-quotes", "{'userName': 'x'}"),
    ("bare-word", "userName"),
    ("empty", ""),
    ("comment", '{"userName": "x" /* c */}'),
    ("nan", '{"userName": NaN}'),
    ("unclosed-array", '{"Operations": ['),
    ("deep-arrays", "{fill}"),
    ("bom", "\ufeff{}"),
]
for method, path in SCIM_BODY_ENDPOINTS:
    slug = path.strip("/").replace("/", "-").replace("{", "").replace("}", "").replace(".", "")
    for name, body in MALFORMED:
        kw = {}
        if name == "deep-arrays":
            kw["fill"] = {"text": "[", "times": 10000}
        case(scim, f"scim-malformed-{method.lower()}-{slug}-{name}", "malformed_json",
             method, path, err(400, "invalidSyntax"), body=body, **kw)
    # a JSON value that is not an object
    for name, body in [("array", "[]"), ("string", '"x"'), ("number", "1"), ("null", "null")]:
        exp = err(400)
        case(scim, f"scim-notobject-{method.lower()}-{slug}-{name}", "malformed_json",
             method, path, exp, body=body)

WRONG_TYPES_USER = [
    ("username-number", {"userName": 123}),
    ("username-bool", {"userName": True}),
    ("username-array", {"userName": ["a"]}),
    ("username-object", {"userName": {"a": 1}}),
    ("username-null", {"userName": None}),
    ("username-blank", {"userName": "   "}),
    ("active-word", {"userName": "t1@example.com", "active": "maybe"}),
    ("active-number", {"userName": "t1@example.com", "active": 2}),
    ("emails-string", {"userName": "t1@example.com", "emails": "t1@example.com"}),
    ("emails-numbers", {"userName": "t1@example.com", "emails": [1, 2]}),
    ("email-value-number", {"userName": "t1@example.com", "emails": [{"value": 5}]}),
    ("name-string", {"userName": "t1@example.com", "name": "Ada"}),
    ("givenname-number", {"userName": "t1@example.com", "name": {"givenName": 7}}),
    ("externalid-number", {"userName": "t1@example.com", "externalId": 123}),
    ("externalid-float", {"userName": "t1@example.com", "externalId": 1e300}),
    ("externalid-object", {"userName": "t1@example.com", "externalId": {"v": "1"}}),
    ("custom-not-object", {"userName": "t1@example.com", CUSTOM: "x"}),
    ("custom-unknown-attr", {"userName": "t1@example.com", CUSTOM: {"notCaptured": "x"}}),
]
WRONG_TYPES_GROUP = [
    ("displayname-number", {"displayName": 5}),
    ("displayname-null", {"displayName": None}),
    ("displayname-blank", {"displayName": ""}),
    ("members-string", {"displayName": "G", "members": "x"}),
    ("members-numbers", {"displayName": "G", "members": [1]}),
    ("member-value-number", {"displayName": "G", "members": [{"value": 5}]}),
    ("member-not-user-id", {"displayName": "G", "members": [{"value": "../../etc"}]}),
    ("externalid-number", {"displayName": "G", "externalId": 5}),
]
# a create and a replace of each resource type, with each wrong body
for kind, collection, cases in (("user", "/Users", WRONG_TYPES_USER),
                                ("group", "/Groups", WRONG_TYPES_GROUP)):
    for name, body in cases:
        case(scim, f"scim-types-post-{kind}-{name}", "wrong_types", "POST", collection,
             err(400, "invalidValue"), body=js(body))
        case(scim, f"scim-types-put-{kind}-{name}", "wrong_types", "PUT",
             f"{collection}/{{{kind}}}", err(400, "invalidValue"), body=js(body))
WRONG_TYPES_PATCH = [
    ("operations-string", {"schemas": [PATCH], "Operations": "x"}),
    ("operations-object", {"schemas": [PATCH], "Operations": {}}),
    ("operations-numbers", {"schemas": [PATCH], "Operations": [1, 2]}),
    ("op-unknown", {"schemas": [PATCH], "Operations": [{"op": "delete", "path": "active"}]}),
    ("op-number", {"schemas": [PATCH], "Operations": [{"op": 5, "path": "active", "value": False}]}),
    ("op-missing", {"schemas": [PATCH], "Operations": [{"path": "active", "value": False}]}),
    ("path-number", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": 5, "value": "x"}]}),
    ("active-word", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": "perhaps"}]}),
    ("username-number", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "userName", "value": 42}]}),
    ("pathless-not-object", {"schemas": [PATCH], "Operations": [{"op": "replace", "value": "x"}]}),
]
for name, body in WRONG_TYPES_PATCH:
    case(scim, f"scim-types-patch-user-{name}", "wrong_types", "PATCH", "/Users/{user}",
         err(400), body=js(body))
for name, body in WRONG_TYPES_PATCH[:6] + [
    ("members-string", {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": "x"}]}),
    ("member-value-number", {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": 1}]}]}),
    ("member-not-user-id", {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members", "value": [{"value": "..%2F..%2Fx"}]}]}),
    ("displayname-number", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": 1}]}),
]:
    case(scim, f"scim-types-patch-group-{name}", "wrong_types", "PATCH", "/Groups/{group}",
         err(400), body=js(body))

# huge strings and arrays (under the body cap)
for field in ["userName", "externalId"]:
    for n in [1025, 100_000]:
        b = {"userName": "t2@example.com"}
        b[field] = "a" * n
        case(scim, f"scim-huge-post-user-{field.lower()}-{n}", "huge", "POST", "/Users",
             err(400, "invalidValue"), body=js(b))
for n in [1025, 100_000]:
    case(scim, f"scim-huge-post-user-givenname-{n}", "huge", "POST", "/Users",
         err(400, "invalidValue"), body=js({"userName": "t2@example.com", "name": {"givenName": "g" * n}}))
    case(scim, f"scim-huge-post-user-email-{n}", "huge", "POST", "/Users",
         err(400, "invalidValue"), body=js({"userName": "t2@example.com", "emails": [{"value": "e" * n + "@example.com"}]}))
    case(scim, f"scim-huge-post-group-displayname-{n}", "huge", "POST", "/Groups",
         err(400, "invalidValue"), body=js({"displayName": "d" * n}))
    case(scim, f"scim-huge-patch-user-givenname-{n}", "huge", "PATCH", "/Users/{user}",
         err(400, "invalidValue"), body=patch({"op": "replace", "path": "name.givenName", "value": "g" * n}))
    case(scim, f"scim-huge-patch-group-displayname-{n}", "huge", "PATCH", "/Groups/{group}",
         err(400, "invalidValue"), body=patch({"op": "replace", "path": "displayName", "value": "d" * n}))
case(scim, "scim-huge-emails-101", "huge", "POST", "/Users", err(400, "invalidValue"),
     body=js({"userName": "t2@example.com", "emails": [{"value": f"e{i}@example.com"} for i in range(101)]}))
case(scim, "scim-huge-emails-20000", "huge", "POST", "/Users", err(400, "invalidValue"),
     body='{"userName": "t2@example.com", "emails": [{fill}{"value": "x@example.com"}]}',
     fill={"text": '{"value": "x@example.com"},', "times": 20000})
case(scim, "scim-huge-members-1001", "huge", "POST", "/Groups", err(400, "invalidValue"),
     body=js({"displayName": "G", "members": [{"value": "u%04d" % i} for i in range(1001)]}))
case(scim, "scim-huge-put-members-1001", "huge", "PUT", "/Groups/{group}", err(400, "invalidValue"),
     body=js({"displayName": "G", "members": [{"value": "u%04d" % i} for i in range(1001)]}))
case(scim, "scim-huge-operations-1001", "huge", "PATCH", "/Users/{user}", err(400, "invalidValue"),
     body=patch(*[{"op": "replace", "path": "active", "value": True}] * 1001))
case(scim, "scim-huge-group-operations-1001", "huge", "PATCH", "/Groups/{group}", err(400, "invalidValue"),
     body=patch(*[{"op": "replace", "path": "displayName", "value": "x"}] * 1001))
case(scim, "scim-huge-patch-member-values-100000", "huge", "PATCH", "/Groups/{group}", err(400, "invalidValue"),
     body='{"Operations": [{"op": "add", "path": "members", "value": [{fill}{"value": "../x"}]}]}',
     fill={"text": '{"value": "../x"},', "times": 40000})
case(scim, "scim-huge-deep-objects", "huge", "POST", "/Users", err(400, "invalidSyntax"),
     body='{"userName": "t2@example.com", "x": {fill}1}',
     fill={"text": '{"a":', "times": 5000})

# bodies over the cap (1 MiB)
CAP = 1024 * 1024
for method, path in [("POST", "/Users"), ("PUT", "/Users/{user}"), ("PATCH", "/Users/{user}"),
                     ("POST", "/Groups"), ("PATCH", "/Groups/{group}"), ("POST", "/Users/.search")]:
    slug = path.strip("/").replace("/", "-").replace("{", "").replace("}", "").replace(".", "")
    prefix = '{"userName": "'
    case(scim, f"scim-overcap-{method.lower()}-{slug}", "over_cap", method, path, err(413),
         body=prefix + "{fill}" + '"}', fill={"text": "a", "times": CAP + 1 - len(prefix) - 2})
case(scim, "scim-overcap-3mib", "over_cap", "POST", "/Users", err(413),
     body="{fill}", fill={"text": "a", "times": 3 * CAP})
case(scim, "scim-undercap-1mib", "over_cap", "POST", "/Users", err(400, "invalidValue"),
     body='{"userName": "{fill}"}', fill={"text": "a", "times": CAP - 20},
     note="exactly at the cap: read, and refused for the userName's length")

# filters nested 10,000 deep, and long filters
NEST = [
    ("parens", "%28", "userName%20eq%20%22x%22"),
    ("not", "not%20%28", "userName%20eq%20%22x%22"),
    ("brackets", "emails%5B", "value%20eq%20%22x%22"),
]
for name, opener, inner in NEST:
    # a URL holds at most 64 KiB: the longer openers nest 6,000 deep in a
    # query, and 10,000 deep in a .search body below
    deep = 10000 if len(opener) < 6 else 6000
    case(scim, f"scim-filter-nested-{deep}-{name}", "filter_nesting", "GET",
         "/Users?filter={fill}" + inner, err(400, "invalidFilter"),
         fill={"text": opener, "times": deep})
    case(scim, f"scim-filter-nested-17-{name}", "filter_nesting", "GET",
         "/Users?filter={fill}" + inner, err(400, "invalidFilter"),
         fill={"text": opener, "times": 17})
    case(scim, f"scim-filter-nested-10000-unbalanced-close-{name}", "filter_nesting", "GET",
         "/Users?filter=" + inner + "{fill}", err(400, "invalidFilter"),
         fill={"text": "%29", "times": 10000})
case(scim, "scim-filter-nested-16-ok", "filter_nesting", "GET",
     "/Users?filter=" + "%28" * 15 + "userName%20eq%20%22nobody%40example.com%22" + "%29" * 15,
     {"status": 200, "accepted": "15 parentheses are within the 16 levels allowed; a read"})
for resource in ["/Users/.search", "/Groups/.search", "/.search"]:
    slug = resource.strip("/").replace("/", "-").replace(".", "")
    case(scim, f"scim-filter-search-nested-10000-{slug}", "filter_nesting", "POST", resource,
         err(400, "invalidFilter"), body='{"filter": "{fill}userName eq \\"x\\""}',
         fill={"text": "(", "times": 10000})
    case(scim, f"scim-filter-search-nested-10000-not-{slug}", "filter_nesting", "POST", resource,
         err(400, "invalidFilter"), body='{"filter": "{fill}userName eq \\"x\\""}',
         fill={"text": "not (", "times": 10000})
    case(scim, f"scim-filter-search-nested-10000-brackets-{slug}", "filter_nesting", "POST", resource,
         err(400, "invalidFilter"), body='{"filter": "{fill}value eq \\"x\\""}',
         fill={"text": "emails[", "times": 10000})
    case(scim, f"scim-filter-search-100kb-{slug}", "filter_size", "POST", resource,
         err(400, "invalidFilter"), body='{"filter": "userName eq \\"{fill}\\""}',
         fill={"text": "a", "times": 100 * 1024})
    case(scim, f"scim-filter-search-100kb-or-chain-{slug}", "filter_size", "POST", resource,
         err(400, "invalidFilter"), body='{"filter": "{fill}userName eq \\"x\\""}',
         fill={"text": 'userName eq \\"x\\" or ', "times": 5000})
case(scim, "scim-filter-query-3kb", "filter_size", "GET", "/Users?filter=userName%20eq%20%22{fill}%22",
     err(400, "invalidFilter"), fill={"text": "a", "times": 3000})
case(scim, "scim-filter-query-groups-3kb", "filter_size", "GET", "/Groups?filter=displayName%20eq%20%22{fill}%22",
     err(400, "invalidFilter"), fill={"text": "a", "times": 3000})
case(scim, "scim-filter-query-20kb", "filter_size", "GET", "/Users?filter=userName%20eq%20%22{fill}%22",
     err(400, "invalidFilter"), fill={"text": "a", "times": 20000})

BAD_FILTERS = [
    "userName eq", "userName xx \"a\"", "userName eq \"unterminated", ")", "(", "userName eq \"a\" and",
    "and", "not", "emails[type eq \"work\"", "emails[]", "userName eq \"a\"]", "userName eq a b c",
    "userName like \"x\"", "\"x\" eq userName", "userName eq \"a\" or or userName eq \"b\"",
    "name..givenName eq \"x\"", "urn:bogus: eq \"x\"", "userName eq 1.2.3", "userName gt",
    "userName pr pr", "members[value eq \"x\"][value eq \"y\"]", "userName eq \"\\u00zz\"",
    "userName eq \"a\"\u0000", "\u0000",
]
for i, f in enumerate(BAD_FILTERS):
    case(scim, f"scim-filter-bad-{i:02d}", "filter_syntax", "GET", "/Users?filter=" + enc(f),
         err(400, "invalidFilter"))
for i, f in enumerate(BAD_FILTERS[:8]):
    case(scim, f"scim-filter-bad-groups-{i:02d}", "filter_syntax", "GET", "/Groups?filter=" + enc(f),
         err(400, "invalidFilter"))
for i, f in enumerate(["filter", 5, ["userName eq \"x\""], {"a": 1}]):
    if f == "filter":
        continue
    case(scim, f"scim-filter-search-type-{i}", "filter_syntax", "POST", "/Users/.search",
         err(400, "invalidFilter"), body=js({"filter": f}))
GOOD_FILTERS = [
    ("no-match", "userName eq \"nobody@example.com\""),
    ("externalid-number-literal", "externalId eq 123"),
    ("unicode", "displayName co \"\u00e9\u00e8\u4e2d\""),
]
for name, f in [("proto-attr", "__proto__ eq \"x\""), ("nul", "userName eq \"\u0000\"")]:
    case(scim, f"scim-filter-odd-{name}", "filter_syntax", "GET", "/Users?filter=" + enc(f),
         err(400, "invalidFilter"))
for name, f in GOOD_FILTERS:
    case(scim, f"scim-filter-odd-{name}", "filter_syntax", "GET", "/Users?filter=" + enc(f),
         {"class": "2xx", "accepted": OK_READ, "total": 0})

# PATCH paths: unknown, read-only, prototype-style
UNKNOWN_PATHS = ["foo", "name.foo", "urn:bogus:schema:attr", "emails[type eq \"work\"].bogus",
                 "nickName.sub.sub", "userName.givenName", "emails[type eq \"work\"", "emails[",
                 "]", "..", "name..givenName", ENTERPRISE + ":bogus", CUSTOM + ":notCaptured",
                 "members"]
for i, p in enumerate(UNKNOWN_PATHS):
    case(scim, f"scim-patch-unknown-path-{i:02d}", "patch_paths", "PATCH", "/Users/{user}",
         err(400, "invalidPath"), body=patch({"op": "replace", "path": p, "value": "x"}))
for i, p in enumerate(["foo", "displayName.x", "members.value.x", "urn:bogus:x", "emails"]):
    case(scim, f"scim-patch-group-unknown-path-{i:02d}", "patch_paths", "PATCH", "/Groups/{group}",
         err(400), body=patch({"op": "replace", "path": p, "value": "x"}))
for i, (p, v) in enumerate([("id", "x"), ("meta", {}), ("meta.version", "W/\"9\""),
                            ("meta.created", "2000-01-01T00:00:00Z"), ("groups", [{"value": "x"}]),
                            ("meta.resourceType", "Group")]):
    case(scim, f"scim-patch-readonly-{i:02d}", "patch_paths", "PATCH", "/Users/{user}",
         err(400, "mutability"), body=patch({"op": "replace", "path": p, "value": v}))
case(scim, "scim-patch-readonly-group-id", "patch_paths", "PATCH", "/Groups/{group}",
     err(400, "mutability"), body=patch({"op": "replace", "path": "id", "value": "other"}))
case(scim, "scim-patch-pathless-id", "patch_paths", "PATCH", "/Users/{user}",
     err(400, "mutability"), body=patch({"op": "replace", "value": {"id": "other"}}))
case(scim, "scim-patch-remove-no-path", "patch_paths", "PATCH", "/Users/{user}",
     err(400, "noTarget"), body=patch({"op": "remove"}))
case(scim, "scim-patch-remove-username", "patch_paths", "PATCH", "/Users/{user}",
     err(400, "invalidValue"), body=patch({"op": "remove", "path": "userName"}))
case(scim, "scim-patch-empty-operations", "patch_paths", "PATCH", "/Users/{user}",
     {"status": 200, "accepted": "an empty Operations array is a no-op (DESIGN §6): no write, same version"},
     body=patch())
PROTO = ["__proto__", "constructor", "prototype", "__proto__.polluted", "constructor.prototype",
         "constructor.prototype.isAdmin", "hasOwnProperty", "toString", "__defineGetter__"]
for i, p in enumerate(PROTO):
    case(scim, f"scim-proto-path-{i:02d}", "proto_paths", "PATCH", "/Users/{user}",
         err(400, "invalidPath"), body=patch({"op": "add", "path": p, "value": {"isAdmin": True}}))
    case(scim, f"scim-proto-group-path-{i:02d}", "proto_paths", "PATCH", "/Groups/{group}",
         err(400), body=patch({"op": "add", "path": p, "value": {"isAdmin": True}}))
for i, p in enumerate(PROTO[:3]):
    case(scim, f"scim-proto-pathless-key-{i:02d}", "proto_paths", "PATCH", "/Users/{user}",
         err(400, "invalidPath"), body=patch({"op": "add", "value": {p: {"isAdmin": True}}}))
    case(scim, f"scim-proto-custom-attr-{i:02d}", "proto_paths", "POST", "/Users",
         err(400, "invalidValue"), body=js({"userName": "t3@example.com", CUSTOM: {p: "x"}}))
    case(scim, f"scim-proto-filter-path-{i:02d}", "proto_paths", "PATCH", "/Users/{user}",
         err(400), body=patch({"op": "replace", "path": "emails[" + p + " eq \"x\"].value", "value": "y"}))

# invalid UTF-8 and NUL bytes
RAW = [("ff", "ff"), ("overlong-slash", "c0af"), ("lone-continuation", "80"),
       ("surrogate", "eda080"), ("in-string", (b'{"userName": "' ).hex() + "fffe" + (b'"}').hex()),
       ("truncated-sequence", (b'{"userName": "a' ).hex() + "e282" + (b'"}').hex())]
for name, hx in RAW:
    case(scim, f"scim-utf8-post-user-{name}", "invalid_utf8", "POST", "/Users",
         err(400, "invalidSyntax"), body_hex=hx)
    case(scim, f"scim-utf8-patch-group-{name}", "invalid_utf8", "PATCH", "/Groups/{group}",
         err(400, "invalidSyntax"), body_hex=hx)
case(scim, "scim-utf8-filter-query", "invalid_utf8", "GET", "/Users?filter=userName%20eq%20%22%FF%FE%22",
     {"class": "2xx", "accepted": "undecodable bytes in a query become U+FFFD (as API Gateway does); a read that finds nothing", "total": 0})
case(scim, "scim-utf8-user-id", "invalid_utf8", "GET", "/Users/%FF%FE", err(404))
NUL_CASES = [
    ("username", "POST", "/Users", {"userName": "a\u0000b@example.com"}, "invalidValue"),
    ("givenname", "POST", "/Users", {"userName": "t4@example.com", "name": {"givenName": "A\u0000"}}, "invalidValue"),
    ("email", "POST", "/Users", {"userName": "t4@example.com", "emails": [{"value": "a\u0000@example.com"}]}, "invalidValue"),
    ("displayname", "POST", "/Groups", {"displayName": "G\u0000"}, "invalidValue"),
    ("patch-givenname", "PATCH", "/Users/{user}", {"Operations": [{"op": "replace", "path": "name.givenName", "value": "\u0000"}]}, "invalidValue"),
    ("patch-displayname", "PATCH", "/Groups/{group}", {"Operations": [{"op": "replace", "path": "displayName", "value": "x\u0000y"}]}, "invalidValue"),
    ("patch-path", "PATCH", "/Users/{user}", {"Operations": [{"op": "replace", "path": "name\u0000.givenName", "value": "x"}]}, "invalidPath"),
]
for name, method, path, body, st in NUL_CASES:
    case(scim, f"scim-nul-{name}", "nul_bytes", method, path, err(400, st), body=js(body))
case(scim, "scim-nul-raw-byte", "nul_bytes", "POST", "/Users", err(400, "invalidSyntax"),
     body_hex=(b'{"userName": "a').hex() + "00" + (b'b"}').hex())
case(scim, "scim-nul-user-id", "nul_bytes", "GET", "/Users/%00", err(404))
case(scim, "scim-nul-filter", "nul_bytes", "GET", "/Users?filter=userName%20eq%20%22%00%22",
     err(400, "invalidFilter"))

# externalIds: numeric, colliding
case(scim, "scim-externalid-colliding-create", "external_id", "POST", "/Users", err(409, "uniqueness"),
     body=js({"userName": U1.upper(), "externalId": "ext-1"}),
     note="the seeded user's userName in capitals with its externalId: a duplicate")
case(scim, "scim-externalid-colliding-put", "external_id", "PUT", "/Users/{user2}", err(409, "uniqueness"),
     body=js({"userName": U1, "externalId": "ext-1"}))
case(scim, "scim-externalid-colliding-patch", "external_id", "PATCH", "/Users/{user2}", err(409, "uniqueness"),
     body=patch({"op": "replace", "value": {"userName": U1, "externalId": "ext-1"}}))
for i, v in enumerate([123, -1, 1.5, 1e308, True, [], {"$gt": ""}]):
    case(scim, f"scim-externalid-type-put-{i}", "external_id", "PUT", "/Users/{user}",
         err(400, "invalidValue"), body=js({"userName": U1, "externalId": v}))
    case(scim, f"scim-externalid-type-patch-{i}", "external_id", "PATCH", "/Users/{user}",
         err(400, "invalidValue"), body=patch({"op": "replace", "path": "externalId", "value": v}))
for i, f in enumerate(["externalId eq \"ext-1 \"", "externalId eq \"EXT-1\"", "externalId eq \"0\""]):
    case(scim, f"scim-externalid-lookup-{i}", "external_id", "GET", "/Users?filter=" + enc(f),
         {"class": "2xx", "accepted": "externalId is compared exactly: a read that finds nothing", "total": 0})

# CR/LF in names and email fields
CRLF = "x\r\nBcc: victim@example.com"
for name, method, path, body in [
    ("username", "POST", "/Users", {"userName": "a@example.com\r\nBcc: victim@example.com"}),
    ("username-lf", "POST", "/Users", {"userName": "a@example.com\nX: y"}),
    ("givenname", "POST", "/Users", {"userName": "t5@example.com", "name": {"givenName": CRLF}}),
    ("familyname", "POST", "/Users", {"userName": "t5@example.com", "name": {"familyName": CRLF}}),
    ("email", "POST", "/Users", {"userName": "t5@example.com", "emails": [{"value": "t5@example.com\r\nBcc: v@example.com", "primary": True}]}),
    ("put-givenname", "PUT", "/Users/{user}", {"userName": U1, "name": {"givenName": CRLF}}),
    ("put-email", "PUT", "/Users/{user}", {"userName": U1, "emails": [{"value": U1 + "\r\n", "type": "work"}]}),
    ("patch-givenname", "PATCH", "/Users/{user}", {"Operations": [{"op": "replace", "path": "name.givenName", "value": CRLF}]}),
    ("patch-email-filter", "PATCH", "/Users/{user}", {"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@example.com\r\nBcc: v@example.com"}]}),
    ("patch-pathless-name", "PATCH", "/Users/{user}", {"Operations": [{"op": "replace", "value": {"name.familyName": CRLF}}]}),
    ("group-displayname", "POST", "/Groups", {"displayName": "Sales\r\nX: y"}),
    ("put-group-displayname", "PUT", "/Groups/{group}", {"displayName": "Sales\r\n"}),
    ("patch-group-displayname", "PATCH", "/Groups/{group}", {"Operations": [{"op": "replace", "path": "displayName", "value": "a\rb"}]}),
]:
    case(scim, f"scim-crlf-{name}", "crlf", method, path, err(400, "invalidValue"), body=js(body))

# wrong content types
for i, ct in enumerate(["text/plain", "application/xml", "application/x-www-form-urlencoded",
                        "multipart/form-data; boundary=x", "text/html", "image/png"]):
    case(scim, f"scim-content-type-post-user-{i}", "content_type", "POST", "/Users", err(415),
         headers={"content-type": ct}, body=js({"userName": "t6@example.com"}))
    case(scim, f"scim-content-type-patch-user-{i}", "content_type", "PATCH", "/Users/{user}", err(415),
         headers={"content-type": ct}, body=patch({"op": "replace", "path": "active", "value": False}))

# huge and out-of-range query values
for name, q in [("count-negative", "count=-1"), ("count-zero", "count=0"),
                ("count-i64max", "count=9223372036854775807"),
                ("startindex-zero", "startIndex=0"), ("startindex-negative", "startIndex=-5"),
                ("startindex-huge", "startIndex=9223372036854775807"),
                ("unknown-param", "foo=bar")]:
    case(scim, f"scim-query-users-{name}", "query_values", "GET", "/Users?" + q,
         {"class": "2xx", "accepted": "out-of-range paging is clamped (RFC 7644 §3.4.2.4); a read"})
for name, q in [("count-word", "count=abc"), ("count-float", "count=1.5"),
                ("startindex-word", "startIndex=x"), ("count-huge-digits", "count={fill}"),
                ("count-over-i64", "count=99999999999999999999"), ("repeated-count", "count=1&count=2"),
                ("attributes-unknown", "attributes=__proto__,constructor"),
                ("excluded-unknown", "excludedAttributes=__proto__"), ("attributes-10kb", "attributes={fill}")]:
    kw = {"fill": {"text": "9" if "count" in q else "a,", "times": 5000}} if "{fill}" in q else {}
    case(scim, f"scim-query-users-{name}", "query_values", "GET", "/Users?" + q,
         err(400, "invalidValue"), **kw)
case(scim, "scim-query-groups-count-word", "query_values", "GET", "/Groups?count=many", err(400, "invalidValue"))
case(scim, "scim-query-value-30kb", "query_values", "GET", "/Users?foo={fill}",
     {"class": "2xx", "accepted": "an unknown parameter is ignored; a read"}, fill={"text": "z", "times": 30000})
for name, body in [("count-negative", {"count": -1}), ("startindex-zero", {"startIndex": 0})]:
    case(scim, f"scim-query-search-{name}", "query_values", "POST", "/Users/.search",
         {"class": "2xx", "accepted": "clamped; a read"}, body=js(body))
for name, body in [("count-word", {"count": "x"}), ("count-object", {"count": {}}),
                   ("count-huge", {"count": 1e300}), ("startindex-huge", {"startIndex": 2**63}),
                   ("attributes-string", {"attributes": "userName"}), ("attributes-numbers", {"attributes": [1]})]:
    case(scim, f"scim-query-search-{name}", "query_values", "POST", "/Users/.search",
         err(400, "invalidValue"), body=js(body))

# path traversal and odd ids
for i, p in enumerate(["/Users/..%2F..%2Fapi%2Fv1%2Frules", "/Users/..%2FGroups", "/Groups/..%2FUsers%2F{user}",
                       "/Users/{user}%2F..%2F..%2F{user2}", "/Users/%2e%2e%2f%2e%2e", "/Groups/..%5C..%5C",
                       "/Users/{fill}", "/Users/%252e%252e%252f", "/Users/{group}", "/Groups/{user}",
                       "/Users/{user}%00", "/Users/%20{user}"]):
    kw = {"fill": {"text": "a", "times": 5000}} if "{fill}" in p else {}
    case(scim, f"scim-traversal-get-{i:02d}", "path_traversal", "GET", p, err(404), **kw)
for i, (m, p) in enumerate([("DELETE", "/Users/..%2F{user}"), ("PATCH", "/Groups/..%2F{group}"),
                            ("PUT", "/Users/{user}%2F"), ("DELETE", "/Groups/{group}%2F..")]):
    case(scim, f"scim-traversal-write-{i}", "path_traversal", m, p, err(404),
         body=None if m == "DELETE" else patch())
case(scim, "scim-traversal-extra-segment", "path_traversal", "GET", "/Users/{user}/..%2F..", err(404))

# unicode confusables in userName
CONF = [("cyrillic-o", U1.replace("o", "\u043e")),
        ("zero-width", U1.replace("@", "\u200b@")), ("dotless-i", "HOST\u0130LE.ONE@EXAMPLE.COM"),
        ("nfd", U1.replace("o", "o\u0301"))]
for name, v in CONF:
    case(scim, f"scim-confusable-lookup-{name}", "confusables", "GET", "/Users?filter=" + enc(f"userName eq \"{v}\""),
         {"class": "2xx", "accepted": "a look-alike is another userName: a read that finds nothing", "total": 0})
# a fullwidth @ is mapped to @ (userNames are kept in one normal form): the one user
FULLWIDTH_AT = U1.replace("@", "\uff20")
case(scim, "scim-confusable-lookup-fullwidth-at", "confusables", "GET",
     "/Users?filter=" + enc(f"userName eq \"{FULLWIDTH_AT}\""),
     {"class": "2xx", "accepted": "a fullwidth @ is the same userName: the read finds the one user", "total": 1})
case(scim, "scim-confusable-kelvin-collides", "confusables", "POST", "/Users", err(409, "uniqueness"),
     body=js({"userName": U1.upper().replace("K", "\u212a")}),
     note="no K in the name: the plain capitals collide")
case(scim, "scim-confusable-put-onto-u1-case", "confusables", "PUT", "/Users/{user2}", err(409, "uniqueness"),
     body=js({"userName": U1.swapcase()}))

# authentication
for name, tok in [("none", "none"), ("garbage", "garbage"), ("admin-token", "admin")]:
    for method, path in [("GET", "/Users"), ("POST", "/Users"), ("PATCH", "/Users/{user}"), ("DELETE", "/Users/{user}"),
                         ("DELETE", "/Groups/{group}"), ("GET", "/ServiceProviderConfig")]:
        body = js({"userName": "t7@example.com"}) if method == "POST" else (patch({"op": "replace", "path": "active", "value": False}) if method == "PATCH" else None)
        case(scim, f"scim-auth-{name}-{method.lower()}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
             "auth", method, path, err(401), token=tok, body=body)
for name, v in [("basic", "Basic dXNlcjpwYXNz"), ("bearer-empty", "Bearer "), ("bearer-long", "Bearer {fill}"),
                ("no-scheme", "{fill}"), ("bearer-nonascii", "Bearer \u00e9")]:
    case(scim, f"scim-auth-header-{name}", "auth", "GET", "/Users", err(401), token="none",
         headers={"authorization": v}, fill={"text": "t", "times": 8000} if "{fill}" in v else None)

# methods and versions
for m, p in [("PUT", "/Users"), ("DELETE", "/Users"), ("PATCH", "/Groups"), ("POST", "/Users/{user}"),
             ("POST", "/ServiceProviderConfig"), ("DELETE", "/Schemas"), ("PUT", "/ResourceTypes/User")]:
    case(scim, f"scim-method-{m.lower()}-{p.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
         "methods", m, p, err(405))
for name, v in [("huge", "W/\"99999999999999999999999\""), ("garbage", "garbage"), ("old", "W/\"0\"")]:
    case(scim, f"scim-if-match-{name}", "methods", "PATCH", "/Users/{user}", err(412),
         headers={"if-match": v}, body=patch({"op": "replace", "path": "active", "value": False}))
    case(scim, f"scim-if-match-delete-{name}", "methods", "DELETE", "/Groups/{group}", err(412),
         headers={"if-match": v})

# ---------------------------------------------------------------- admin API
WRITE = [
    ("POST", "/rules", None), ("PUT", "/rules/{rule}", "*"), ("PATCH", "/rules/{rule}", "*"),
    ("POST", "/rules/{rule}/move", "*"), ("PUT", "/rules/order", "*"), ("POST", "/rules/preview", None),
    ("PUT", "/sync", None), ("POST", "/sync/retry", None), ("PUT", "/catalog", "*"),
    ("PUT", "/custom-attributes", "*"), ("PUT", "/activity/settings", "*"), ("POST", "/templates", None),
    ("PUT", "/templates/{template}", "*"), ("POST", "/templates/{template}/preview", None),
]
ADMIN_MALFORMED = [
    ("truncated", '{"enabled": tr'), ("single-quotes", "{'enabled': false}"), ("empty", ""),
    ("array", "[]"), ("string", '"x"'), ("null", "null"), ("number", "0"), ("deep-arrays", "{fill}"),
    ("deep-objects", '{"a":{fill}'), ("comment", "{/* */}"), ("trailing-garbage", "{} {}"),
]
for method, path, im in WRITE:
    slug = path.strip("/").replace("/", "-").replace("{", "").replace("}", "")
    hdr = {"if-match": im} if im else None
    for name, body in ADMIN_MALFORMED:
        expect = problem(400, "invalid_body")
        if name == "empty" and path == "/sync/retry":
            # an empty body reads as {}: Retry sync of everything, recorded in the
            # activity history; a write, tested in tests/tests/e2e/failures.rs
            continue
        if name == "empty" and path == "/templates/{template}/preview":
            expect = {"status": 200, "accepted": "an empty body reads as {}: a preview with sample values (a read)"}
        fill = None
        if name == "deep-arrays":
            fill = {"text": "[", "times": 10000}
        if name == "deep-objects":
            fill = {"text": '{"a":', "times": 10000}
        case(admin, f"admin-malformed-{method.lower()}-{slug}-{name}", "malformed_json", method, path,
             expect, body=body, headers=hdr, fill=fill)
    case(admin, f"admin-overcap-{method.lower()}-{slug}", "over_cap", method, path,
         problem(413, "payload_too_large"), headers=hdr,
         body='{"description": "{fill}"}', fill={"text": "a", "times": 64 * 1024})
    case(admin, f"admin-unknown-field-{method.lower()}-{slug}", "proto_paths", method, path,
         problem(422, "unknown_field"), headers=hdr, body=js({"__proto__": {"isAdmin": True}, "constructor": {"prototype": {}}}))
    case(admin, f"admin-utf8-{method.lower()}-{slug}", "invalid_utf8", method, path,
         problem(400, "invalid_body"), headers=hdr, body_hex=(b'{"description": "').hex() + "fffe80" + (b'"}').hex())

RULE = lambda **kw: js(dict({"groupId": "{group}", "products": ["G2M"], "adminRole": {"type": "none"}}, **kw))
for name, body, exp in [
    ("groupid-number", js({"groupId": 5}), problem(400, "invalid_body")),
    ("products-string", js({"groupId": "{group}", "products": "G2M"}), problem(400, "invalid_body")),
    ("products-numbers", js({"groupId": "{group}", "products": [1]}), problem(400, "invalid_body")),
    ("adminrole-string", js({"groupId": "{group}", "adminRole": "full_admin"}), problem(400, "invalid_body")),
    ("adminrole-unknown", js({"groupId": "{group}", "adminRole": {"type": "root"}}), problem(400, "invalid_body")),
    # nested objects refuse unknown fields too, the stored rules' old spelling included
    ("adminrole-proto", js({"groupId": "{group}", "adminRole": {"type": "none", "__proto__": {"isAdmin": True}}}),
     problem(422, "unknown_field")),
    ("adminrole-snake-case", js({"groupId": "{group}", "adminRole": {"type": "manager", "managed_groups": ["x"]}}),
     problem(422, "unknown_field")),
    ("priority-string", RULE(priority="1"), problem(400, "invalid_body")),
    ("priority-negative", RULE(priority=-1), problem(400, "invalid_body")),
    ("priority-huge", RULE(priority=2**70), problem(400, "invalid_body")),
    ("group-unknown", RULE(groupId="nope"), {"status": 422, "code": "invalid_rule"}),
    ("group-traversal", RULE(groupId="../../{group}"), {"status": 422, "code": "invalid_rule"}),
    ("group-empty", RULE(groupId=""), {"status": 422, "code": "invalid_rule"}),
    ("product-unknown", RULE(products=["NOPE"]), {"status": 422, "code": "invalid_rule"}),
    ("product-proto", RULE(products=["__proto__"]), {"status": 422, "code": "invalid_rule"}),
    ("description-huge", RULE(description="d" * 20000), {"status": 422, "code": "invalid_rule"}),
    ("description-crlf", RULE(description="a\r\nb", products=["NOPE"]), {"status": 422, "code": "invalid_rule"}),
    ("products-10000", RULE(products=["p%d" % i for i in range(5000)]), {"class": "4xx"}),
    ("device-groups-proto", RULE(deviceGroups=["__proto__"]), {"status": 422, "code": "invalid_rule"}),
    ("language-bogus", RULE(language="../../etc"), {"status": 422, "code": "invalid_rule"}),
    ("language-crlf", RULE(language="en\r\nX: y"), {"status": 422, "code": "invalid_rule"}),
    ("language-proto", RULE(language="__proto__"), {"status": 422, "code": "invalid_rule"}),
    ("template-unknown", RULE(welcomeTemplate="nope"), {"class": "4xx"}),
    ("settings-template-unknown", RULE(settingsTemplate="\u0000"), {"class": "4xx"}),
]:
    case(admin, f"admin-types-post-rule-{name}", "wrong_types", "POST", "/rules", exp, body=body)
    if exp.get("code") in ("invalid_body", "unknown_field"):
        case(admin, f"admin-types-put-rule-{name}", "wrong_types", "PUT", "/rules/{rule}", exp,
             body=body, headers={"if-match": "*"})
for name, body, exp in [
    ("sync-enabled-string", js({"enabled": "true"}), problem(400, "invalid_body")),
    ("sync-enabled-number", js({"enabled": 1}), problem(400, "invalid_body")),
    ("sync-missing", js({}), problem(400, "invalid_body")),
    ("sync-confirm-string", js({"enabled": False, "confirm": "yes"}), problem(400, "invalid_body")),
]:
    case(admin, f"admin-types-{name}", "wrong_types", "PUT", "/sync", exp, body=body)
for name, body, exp in [
    ("retention-string", {"retentionDays": "30"}, problem(400, "invalid_body")),
    ("retention-negative", {"retentionDays": -1}, problem(400, "invalid_body")),
    ("retention-zero", {"retentionDays": 0}, problem(422, "invalid_settings")),
    ("retention-huge", {"retentionDays": 10**12}, {"class": "4xx"}),
    ("retention-float", {"retentionDays": 1.5}, problem(400, "invalid_body")),
]:
    case(admin, f"admin-types-{name}", "wrong_types", "PUT", "/activity/settings", exp, body=js(body))
for name, body in [
    ("attrs-string", {"attributes": "x"}), ("attrs-numbers", {"attributes": [1]}),
    ("attrs-proto", {"attributes": ["constructor", "__proto__"]}), ("attrs-dup", {"attributes": ["a", "A"]}),
    ("attrs-long", {"attributes": ["a" * 65]}), ("attrs-crlf", {"attributes": ["a\r\nb"]}),
    ("attrs-many", {"attributes": ["a%d" % i for i in range(51)]}), ("attrs-urn", {"attributes": [CUSTOM + ":x"]}),
]:
    case(admin, f"admin-types-custom-{name}", "wrong_types", "PUT", "/custom-attributes", {"class": "4xx"}, body=js(body))
for name, body in [
    ("products", {"products": [{"id": "A", "name": "A"}]}),
    ("groups-string", {"userGroups": "x"}), ("dup-group", {"userGroups": [{"id": "A", "name": "A"}, {"id": "A", "name": "B"}]}),
    ("blank-group", {"userGroups": [{"id": " ", "name": "x"}]}), ("crlf-name", {"userGroups": [{"id": "A", "name": "a\r\nb"}]}),
    ("long-id", {"userGroups": [{"id": "p" * 5000, "name": "x"}]}),
]:
    case(admin, f"admin-types-catalog-{name}", "wrong_types", "PUT", "/catalog", {"class": "4xx"}, body=js(body))
for name, body in [
    ("subject-crlf", {"name": "T", "variants": {"en": {"subject": "Hi\r\nBcc: v@example.com", "body": "b"}}}),
    ("name-number", {"name": 5}),
    ("language-traversal", {"name": "T", "variants": {"../../x": {"subject": "s", "body": "b"}}}),
    ("translations-array", {"name": "T", "variants": []}),
    ("placeholder-unknown", {"name": "T", "variants": {"en": {"subject": "{{__proto__}}", "body": "{{constructor}}"}}}),
    ("subject-huge", {"name": "T", "variants": {"en": {"subject": "s" * 20000, "body": "b"}}}),
]:
    case(admin, f"admin-types-template-{name}", "wrong_types", "POST", "/templates", {"class": "4xx"}, body=js(body))
for name, body in [("class-unknown", {"class": "__proto__"}), ("userid-traversal", {"userId": "../../x"}),
                   ("class-number", {"class": 5}), ("both", {"class": "out_of_licenses", "userId": "x", "extra": 1})]:
    case(admin, f"admin-types-retry-{name}", "wrong_types", "POST", "/sync/retry", {"class": "4xx"}, body=js(body))
for name, body in [("direction-bogus", {"direction": "sideways"}), ("priority-zero", {"priority": 0}),
                   ("priority-huge", {"priority": 2**40}), ("priority-string", {"priority": "1"})]:
    case(admin, f"admin-types-move-{name}", "wrong_types", "POST", "/rules/{rule}/move", {"class": "4xx"},
         body=js(body), headers={"if-match": "*"})
for name, body in [("ids-string", {"ruleIds": "x"}), ("ids-unknown", {"ruleIds": ["nope"]}), ("ids-empty", {"ruleIds": []}),
                   ("ids-dup", {"ruleIds": ["{rule}", "{rule}"]})]:
    case(admin, f"admin-types-order-{name}", "wrong_types", "PUT", "/rules/order", {"class": "4xx"},
         body=js(body), headers={"if-match": "*"})

# query values
for path, params in [
    ("/users", ["limit=-1", "limit=0", "limit=201", "limit=1e2", "limit=abc", "limit=99999999999999999999",
                "cursor={fill}", "search={fill}", "status=bogus", "failureClass=__proto__",
                "product=x", "failureClass=out_of_licenses&product={fill}"]),
    ("/groups", ["limit=-1", "limit=0", "limit=201", "cursor=..%2F..", "search={fill}"]),
    ("/groups/{group}/members", ["limit=0", "limit=abc", "cursor=%00"]),
    ("/activity", ["limit=0", "limit=-5", "limit=201", "action=__proto__", "outcome=maybe", "from=yesterday",
                   "to=2026-13-45T99:99:99Z", "cursor=%0A", "failureClass=bogus",
                   "userId=..%2F..%2Fx", "ruleId=%00"]),
    ("/activity/export", ["format=xml", "format={fill}", "from=%00", "action=constructor"]),
    ("/sync/failures/out_of_licenses", ["limit=0", "limit=-1", "cursor=..%2F", "product="]),
    ("/rules/{rule}", []),
]:
    for q in params:
        fill = {"text": "q", "times": 600} if "{fill}" in q else None
        name = q.split("=")[0] + "-" + (q.split("=")[1][:12] if "{fill}" not in q else "long")
        name = "".join(ch if ch.isalnum() or ch == "-" else "_" for ch in name)
        case(admin, f"admin-query-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}-{name}",
             "query_values", "GET", path + "?" + q, problem(400, "invalid_query"), fill=fill)
CURSOR_OK = ("a cursor is a position in the organization's own list (a user id, an entry key): a "
             "well-formed one the API did not give starts the page there; a read")
for path, q in [("/users", "cursor=garbage"), ("/sync/failures/out_of_licenses", "cursor=garbage"),
                ("/activity", "cursor={fill}")]:
    case(admin, f"admin-query-cursor-{path.strip('/').replace('/', '-')}", "query_values", "GET", path + "?" + q,
         {"class": "2xx", "accepted": CURSOR_OK}, fill={"text": "q", "times": 300} if "{fill}" in q else None)
case(admin, "admin-query-users-unknown-param", "query_values", "GET", "/users?unknown={fill}",
     {"class": "2xx", "accepted": "an unknown parameter is ignored; a read"}, fill={"text": "z", "times": 30000})
for path, q in [("/users", "search=%FF%FE"), ("/users", "search=__proto__"), ("/groups", "search=constructor"),
                ("/activity", "userId=nobody"), ("/activity", "ruleId=nothing"),
                ("/users", "search=" + enc(U1.replace("o", "\u043e")))]:
    fill = {"text": "z", "times": 30000} if "{fill}" in q else None
    case(admin, f"admin-query-accepted-{path.strip('/')}-{q.split('=')[0]}-{len(admin)}", "query_values", "GET", path + "?" + q,
         {"class": "2xx", "accepted": "a read with an odd but valid value: finds nothing, changes nothing", "empty": True}, fill=fill)
case(admin, "admin-query-delete-rule-confirm-bogus", "query_values", "DELETE", "/rules/{rule}?confirm=maybe",
     problem(400, "invalid_query"), headers={"if-match": "*"})

# path traversal and ids of nothing
for i, p in enumerate(["/rules/..%2F..%2Fsync", "/rules/..%2Forder", "/users/..%2F..%2Frules", "/users/%2e%2e%2frules",
                       "/templates/..%2Fdefault", "/groups/..%2F{group}", "/groups/{group}%2F..%2Fmembers",
                       "/users/{fill}", "/rules/%00", "/templates/%FF", "/sync/failures/..%2F..%2Frules",
                       "/sync/failures/__proto__", "/sync/failures/constructor", "/users/{group}", "/groups/{user}",
                       "/rules/{template}", "/templates/{rule}", "/users/{user}%2F..%2F{user2}",
                       "/groups/{group}/members%2F..", "/users/__proto__/assignment"]):
    fill = {"text": "a", "times": 5000} if "{fill}" in p else None
    case(admin, f"admin-traversal-get-{i:02d}", "path_traversal", "GET", p, problem(404, "not_found"), fill=fill)
for i, (m, p) in enumerate([("DELETE", "/rules/..%2F{rule}"), ("DELETE", "/templates/..%2F{template}"),
                            ("PUT", "/rules/{rule}%2F"), ("POST", "/templates/..%2F{template}/preview"),
                            ("PATCH", "/rules/__proto__")]):
    case(admin, f"admin-traversal-write-{i}", "path_traversal", m, p, problem(404, "not_found"),
         headers={"if-match": "*"}, body=None if m == "DELETE" else "{}")

# content types (the admin API reads the body as JSON whatever the label; see docs/security.md)
for i, ct in enumerate(["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]):
    case(admin, f"admin-content-type-form-body-{i}", "content_type", "PUT", "/sync", problem(400, "invalid_body"),
         headers={"content-type": ct}, body="enabled=true")
    case(admin, f"admin-content-type-rule-{i}", "content_type", "POST", "/rules", {"status": 422, "code": "invalid_rule"},
         headers={"content-type": ct}, body=RULE(products=["NOPE"]))

# authentication and methods
for name, tok in [("none", "none"), ("garbage", "garbage")]:
    for m, p in [("GET", "/rules"), ("POST", "/rules"), ("DELETE", "/rules/{rule}"), ("PUT", "/sync"),
                 ("GET", "/activity"), ("POST", "/sync/retry"), ("PUT", "/catalog"), ("DELETE", "/templates/{template}")]:
        case(admin, f"admin-auth-{name}-{m.lower()}-{p.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
             "auth", m, p, problem(401, "unauthorized"), token=tok, body=None if m in ("GET", "DELETE") else "{}")
for m, p in [("GET", "/rules"), ("PUT", "/sync"), ("DELETE", "/rules/{rule}")]:
    case(admin, f"admin-auth-scim-token-{m.lower()}-{p.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
         "auth", m, p, problem(403, "forbidden"), token="scim", body=None if m in ("GET", "DELETE") else "{}")
for name, v in [("basic", "Basic dXNlcjpwYXNz"), ("bearer-empty", "Bearer "), ("bearer-long", "Bearer {fill}")]:
    case(admin, f"admin-auth-header-{name}", "auth", "GET", "/rules", problem(401, "unauthorized"), token="none",
         headers={"authorization": v}, fill={"text": "t", "times": 8000} if "{fill}" in v else None)
for m, p, code in [("DELETE", "/sync", "method_not_allowed"), ("PATCH", "/catalog", "method_not_allowed"),
                   ("POST", "/groups", "read_only"), ("DELETE", "/groups/{group}", "read_only"),
                   ("PUT", "/templates/default", "read_only"), ("DELETE", "/templates/default", "read_only"),
                   ("POST", "/users", "method_not_allowed"), ("DELETE", "/activity", "method_not_allowed")]:
    case(admin, f"admin-method-{m.lower()}-{p.strip('/').replace('/', '-').replace('{', '').replace('}', '')}",
         "methods", m, p, {"status": 405, "code": code}, body=None if m in ("GET", "DELETE") else "{}",
         headers={"if-match": "*"})
for name, v, st, code in [("garbage", "garbage", 400, "invalid_header"), ("huge", "\"99999999999999999999999\"", 400, "invalid_header"),
                          ("old", "\"0\"", 412, "precondition_failed")]:
    case(admin, f"admin-if-match-delete-rule-{name}", "methods", "DELETE", "/rules/{rule}", {"status": st, "code": code},
         headers={"if-match": v})
case(admin, "admin-if-match-missing", "methods", "DELETE", "/rules/{rule}", problem(428, "precondition_required"))
# settings replaced as a whole need the ETag they were read with: a valid body
# without one, or with one that is not current, changes nothing
for p, body in [("/catalog", {"userGroups": []}), ("/custom-attributes", {"attributes": ["x"]}),
                ("/activity/settings", {"retentionDays": 120})]:
    slug = p.strip("/").replace("/", "-")
    for name, v, st, code in [("garbage", "garbage", 400, "invalid_header"), ("stale", "\"99\"", 412, "precondition_failed"),
                              ("missing", None, 428, "precondition_required")]:
        case(admin, f"admin-if-match-{slug}-{name}", "methods", "PUT", p, {"status": st, "code": code},
             body=js(body), headers={"if-match": v} if v else None)


def write(name, cases):
    ids = [c["id"] for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    assert not dup, dup
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=True, sort_keys=False) + "\n")


write("scim.jsonl", scim)
write("admin.jsonl", admin)
print(f"scim: {len(scim)} cases, admin: {len(admin)} cases")
