import assert from "node:assert/strict";
import { inspect } from "node:util";
import { decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import {
  buildQueryString,
  buildQueryStrings,
  compactBody,
  Secret,
  sha512Hex,
  signUpbitJwt,
} from "../../../../engine/adapters/upbit/auth.ts";

const ACCESS = "TESTACCESSKEY0000000000000000000000000000";
const SECRET = "TESTSECRETKEY0000000000000000000000000000";

Deno.test("query_hash test vectors of API.md §2.3", async () => {
  const vectors: Array<[string, string]> = [
    [
      buildQueryString({ market: "KRW-BTC" }),
      "b749dfc2e17f75e5b46c8161f97fe7c9298ed4167ea21c5c94d16573efd8a801351470c0ff1a9a3f1e763f8249968218c04c571c8b45aa80cd4588e6c4be0738",
    ],
    [
      buildQueryString({ market: "KRW-BTC", states: ["wait", "watch"], limit: 50 }),
      "1e0dc97c390d567f952a06a4cc90dde691253a97bb0726d93342f8de61716952d3903bb75bad666cbc8ef2c68c1cdb047ee8c034391d0cd0546524e75f66ff10",
    ],
    [
      buildQueryString({
        "uuids[]": ["4f6c2a1e-0b7d-4c8e-9a31-2d5e7f9b1c40", "a0e1b2c3-d4e5-46f7-8899-aabbccddeeff"],
      }),
      "304ebd53b160a6d14e9718a4b11e5be8fc5ab7ee06500a7e0bee3f7b4df7152993c455043162f3ef91e4afd2b657bf823d95f4070d5537289f6d854601d75b71",
    ],
    [
      buildQueryString(compactBody({
        market: "KRW-BTC",
        side: "bid",
        volume: "0.0004",
        price: "131250000",
        ord_type: "limit",
        time_in_force: null,
        identifier: "bot-20261124-0001",
        smp_type: undefined,
      })),
      "52020d5bcc93a0c0f95baab70369a5f3cd31eeea133f6a5bf232c8f51f9c101f290842e5a519c72539cc8a50d2c9fb2aac0abf4fe06c3a5573d2e177a84fa8b6",
    ],
  ];
  for (const [text, hash] of vectors) assert.equal(await sha512Hex(text), hash, text);
});

Deno.test("signUpbitJwt reproduces API.md's HS512 token byte for byte", async () => {
  const jwt = await signUpbitJwt({
    accessKey: ACCESS,
    secretKey: new Secret(SECRET),
    query: { market: "KRW-BTC" },
    nonce: "6b1f7c4e-2d9a-4f3b-8e21-0c5d9a7b3e11",
  });
  assert.equal(
    jwt,
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3Nfa2V5IjoiVEVTVEFDQ0VTU0tFWTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJub25jZSI6IjZiMWY3YzRlLTJkOWEtNGYzYi04ZTIxLTBjNWQ5YTdiM2UxMSIsInF1ZXJ5X2hhc2giOiJiNzQ5ZGZjMmUxN2Y3NWU1YjQ2YzgxNjFmOTdmZTdjOTI5OGVkNDE2N2VhMjFjNWM5NGQxNjU3M2VmZDhhODAxMzUxNDcwYzBmZjFhOWEzZjFlNzYzZjgyNDk5NjgyMThjMDRjNTcxYzhiNDVhYTgwY2Q0NTg4ZTZjNGJlMDczOCIsInF1ZXJ5X2hhc2hfYWxnIjoiU0hBNTEyIn0.bfuJ2HCkCnoKJQosEhF-jPylX4IDIChvSXQmvP_ni-RpAzMT-142ajOFPjHFYvyE1hQ_mQKb5ehyaC2-feNFZg",
  );
});

Deno.test("signUpbitJwt: fresh UUID nonce per call; no query_hash without parameters", async () => {
  const a = await signUpbitJwt({ accessKey: ACCESS, secretKey: SECRET });
  const b = await signUpbitJwt({ accessKey: ACCESS, secretKey: SECRET });
  const ca = decodeJwt(a);
  assert.deepEqual(Object.keys(ca), ["access_key", "nonce"]);
  assert.match(
    String(ca.nonce),
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  assert.notEqual(ca.nonce, decodeJwt(b).nonce);
  assert.deepEqual(decodeProtectedHeader(a), { alg: "HS512", typ: "JWT" });
  await jwtVerify(a, new TextEncoder().encode(SECRET), { algorithms: ["HS512"] });
  const empty = decodeJwt(await signUpbitJwt({ accessKey: ACCESS, secretKey: SECRET, query: {} }));
  assert.equal(empty.query_hash, undefined);
  const withQuery = decodeJwt(
    await signUpbitJwt({ accessKey: ACCESS, secretKey: SECRET, query: "a=1" }),
  );
  assert.equal(withQuery.query_hash, await sha512Hex("a=1"));
  assert.equal(withQuery.query_hash_alg, "SHA512");
});

Deno.test("buildQueryStrings: order kept, arrays repeated, nulls skipped, wire form encoded", () => {
  const q = buildQueryStrings([
    ["market", "KRW-BTC"],
    ["identifiers", ["a b", "c:d"]],
    ["skip", null],
    ["to", "2026-11-24T09:00:00+09:00"],
    ["pairs", "KRW-BTC,KRW-ETH"],
    ["n", 5],
    ["flag", true],
    ["gone", undefined],
  ]);
  assert.equal(
    q.plain,
    "market=KRW-BTC&identifiers[]=a b&identifiers[]=c:d&to=2026-11-24T09:00:00+09:00&pairs=KRW-BTC,KRW-ETH&n=5&flag=true",
  );
  assert.equal(
    q.encoded,
    "market=KRW-BTC&identifiers[]=a%20b&identifiers[]=c%3Ad&to=2026-11-24T09%3A00%3A00%2B09%3A00&pairs=KRW-BTC%2CKRW-ETH&n=5&flag=true",
  );
  assert.deepEqual(buildQueryStrings(undefined), { plain: "", encoded: "" });
  assert.throws(() => buildQueryString({ x: NaN }), RangeError);
  assert.deepEqual(Object.keys(compactBody({ b: 1, a: null, c: "x" })), ["b", "c"]);
});

Deno.test("Secret prints [REDACTED] through every path", () => {
  const s = new Secret("canary-7f3a");
  const holder = { key: s, nested: [s] };
  const outputs = [
    String(s),
    `${s}`,
    JSON.stringify(holder),
    Deno.inspect(holder),
    Deno.inspect(s),
    inspect(holder),
    inspect(s),
    new Error("x" + s).message,
    String(structuredClone({ s }).s),
  ];
  for (const out of outputs) assert.ok(!out.includes("canary"), out);
  assert.ok(Deno.inspect(s).includes("[REDACTED]"));
  assert.ok(inspect(s).includes("[REDACTED]"));
  assert.equal(s.reveal(), "canary-7f3a");
});
