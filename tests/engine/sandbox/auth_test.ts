import assert from "node:assert/strict";
import {
  bodyQueryString,
  canonicalQuery,
  SandboxAuth,
  sha512Hex,
} from "../../../engine/sandbox/auth.ts";
import { call, callJson, createHarness, KEY_A, KEY_B, KEY_VIEW_ONLY } from "./_harness.ts";
import { queryOf, sha512, signToken } from "./_sign.ts";

const DOC_TOKEN =
  "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3Nfa2V5IjoiVEVTVEFDQ0VTU0tFWTAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJub25jZSI6IjZiMWY3YzRlLTJkOWEtNGYzYi04ZTIxLTBjNWQ5YTdiM2UxMSIsInF1ZXJ5X2hhc2giOiJiNzQ5ZGZjMmUxN2Y3NWU1YjQ2YzgxNjFmOTdmZTdjOTI5OGVkNDE2N2VhMjFjNWM5NGQxNjU3M2VmZDhhODAxMzUxNDcwYzBmZjFhOWEzZjFlNzYzZjgyNDk5NjgyMThjMDRjNTcxYzhiNDVhYTgwY2Q0NTg4ZTZjNGJlMDczOCIsInF1ZXJ5X2hhc2hfYWxnIjoiU0hBNTEyIn0.bfuJ2HCkCnoKJQosEhF-jPylX4IDIChvSXQmvP_ni-RpAzMT-142ajOFPjHFYvyE1hQ_mQKb5ehyaC2-feNFZg";

Deno.test("sha512Hex() matches the API.md query_hash test vectors", async () => {
  const vectors: Array<[string, string]> = [
    [
      "market=KRW-BTC",
      "b749dfc2e17f75e5b46c8161f97fe7c9298ed4167ea21c5c94d16573efd8a801351470c0ff1a9a3f1e763f8249968218c04c571c8b45aa80cd4588e6c4be0738",
    ],
    [
      "market=KRW-BTC&states[]=wait&states[]=watch&limit=50",
      "1e0dc97c390d567f952a06a4cc90dde691253a97bb0726d93342f8de61716952d3903bb75bad666cbc8ef2c68c1cdb047ee8c034391d0cd0546524e75f66ff10",
    ],
    [
      "uuids[]=4f6c2a1e-0b7d-4c8e-9a31-2d5e7f9b1c40&uuids[]=a0e1b2c3-d4e5-46f7-8899-aabbccddeeff",
      "304ebd53b160a6d14e9718a4b11e5be8fc5ab7ee06500a7e0bee3f7b4df7152993c455043162f3ef91e4afd2b657bf823d95f4070d5537289f6d854601d75b71",
    ],
    [
      "market=KRW-BTC&side=bid&volume=0.0004&price=131250000&ord_type=limit&identifier=bot-20261124-0001",
      "52020d5bcc93a0c0f95baab70369a5f3cd31eeea133f6a5bf232c8f51f9c101f290842e5a519c72539cc8a50d2c9fb2aac0abf4fe06c3a5573d2e177a84fa8b6",
    ],
  ];
  for (const [text, hash] of vectors) assert.equal(await sha512Hex(text), hash);
});

Deno.test("canonicalQuery() decodes values but keeps order and [] keys", () => {
  assert.equal(
    canonicalQuery("end_time=2026-11-24T10%3A00%3A00%2B09%3A00&states[]=wait&states[]=done"),
    "end_time=2026-11-24T10:00:00+09:00&states[]=wait&states[]=done",
  );
  assert.equal(canonicalQuery("uuids%5B%5D=a"), "uuids[]=a");
  assert.equal(canonicalQuery(""), "");
  assert.equal(canonicalQuery("a=%E0%A4%A"), undefined);
});

Deno.test("bodyQueryString() renders the body in key order and skips nulls", () => {
  assert.equal(
    bodyQueryString({ market: "KRW-BTC", side: "bid", price: null, volume: "0.1" }),
    "market=KRW-BTC&side=bid&volume=0.1",
  );
});

Deno.test("auth accepts API.md's HS512 example token once, then answers nonce_used", async () => {
  const h = createHarness();
  const path = "/v1/orders/chance?market=KRW-BTC";
  const req = () =>
    h.app.request(`http://sandbox${path}`, { headers: { authorization: `Bearer ${DOC_TOKEN}` } });
  const first = await req();
  assert.equal(first.status, 200);
  assert.equal((await first.json()).market.id, "KRW-BTC");
  const again = await req();
  assert.equal(again.status, 401);
  assert.deepEqual((await again.json()).error.name, "nonce_used");
  h.close();
});

Deno.test("auth accepts HS256 and HS512 tokens", async () => {
  const h = createHarness();
  for (const alg of ["HS256", "HS512"] as const) {
    const [status, body] = await callJson(h, "GET", "/v1/accounts", [], { alg });
    assert.equal(status, 200, alg);
    assert.ok(Array.isArray(body));
  }
  h.close();
});

Deno.test("auth rejects every bad token with Upbit's error name and status", async () => {
  const h = createHarness();
  const query = [["market", "KRW-BTC"]] as const;
  const expectError = async (
    token: string | null,
    status: number,
    name: string,
    q: ReadonlyArray<readonly [string, string]> = query,
  ) => {
    const [s, body] = await callJson(h, "GET", "/v1/orders/chance", q, { token });
    assert.equal(s, status, name);
    assert.deepEqual(body, { error: { name, message: body.error.message } });
    assert.equal(typeof body.error.message, "string");
  };
  const hashed = "market=KRW-BTC";
  await expectError(null, 401, "no_authorization_token");
  await expectError("not-a-jwt", 401, "jwt_verification");
  await expectError(
    await signToken({ ...KEY_A, secretKey: "wrong" }, { hashed }),
    401,
    "jwt_verification",
  );
  await expectError(
    await signToken({ accessKey: "nobody", secretKey: "x" }, { hashed }),
    401,
    "invalid_access_key",
  );
  // Hash over the URL-encoded form instead of the raw one.
  const colon = [["market", "KRW-BTC"], ["x", "a:b"]] as const;
  await expectError(
    await signToken(KEY_A, { hashed: queryOf(colon).encoded }),
    401,
    "invalid_query_payload",
    colon,
  );
  await expectError(await signToken(KEY_A, {}), 401, "invalid_query_payload");
  await expectError(
    await signToken(KEY_A, { hashed: "market=KRW-ETH" }),
    401,
    "invalid_query_payload",
  );
  await expectError(
    await signToken(KEY_A, { hashed, extraClaims: { exp: 1 } }),
    401,
    "jwt_verification",
  );
  // Wrong algorithm family: HS384 is not accepted by Upbit.
  const { SignJWT } = await import("jose");
  const hs384 = await new SignJWT({ access_key: KEY_A.accessKey, nonce: "n384" })
    .setProtectedHeader({ alg: "HS384" }).sign(new TextEncoder().encode(KEY_A.secretKey));
  await expectError(hs384, 401, "jwt_verification", []);
  const missingNonce = await new SignJWT({ access_key: KEY_A.accessKey })
    .setProtectedHeader({ alg: "HS512" }).sign(new TextEncoder().encode(KEY_A.secretKey));
  await expectError(missingNonce, 401, "jwt_verification", []);
  const basic = await h.app.request("http://sandbox/v1/accounts", {
    headers: { authorization: "Basic abc" },
  });
  assert.equal((await basic.json()).error.name, "jwt_verification");
  h.close();
});

Deno.test("auth checks query_hash over array parameters written as key[]=", async () => {
  const h = createHarness();
  const q = [["market", "KRW-BTC"], ["states[]", "wait"], ["states[]", "watch"], [
    "limit",
    "50",
  ]] as const;
  const [ok] = await callJson(h, "GET", "/v1/orders/open", q);
  assert.equal(ok, 200);
  // Brackets encoded in the hash (a classic client bug) fail.
  const bad = await signToken(KEY_A, {
    hashed: "market=KRW-BTC&states%5B%5D=wait&states%5B%5D=watch&limit=50",
  });
  const [status, body] = await callJson(h, "GET", "/v1/orders/open", q, { token: bad });
  assert.equal(status, 401);
  assert.equal(body.error.name, "invalid_query_payload");
  // The hash of the documented vector string is what the sandbox expects.
  const docHash = await sha512("market=KRW-BTC&states[]=wait&states[]=watch&limit=50");
  const [s2] = await callJson(h, "GET", "/v1/orders/open", q, {
    token: await signToken(KEY_A, { queryHash: docHash }),
  });
  assert.equal(s2, 200);
  h.close();
});

Deno.test("auth hashes a POST body in the order it was sent", async () => {
  const h = createHarness();
  const body = {
    market: "KRW-BTC",
    side: "bid",
    volume: "0.0004",
    price: "131250000",
    ord_type: "limit",
  };
  const swapped = await signToken(KEY_A, {
    hashed: "side=bid&market=KRW-BTC&volume=0.0004&price=131250000&ord_type=limit",
  });
  const [status, err] = await callJson(h, "POST", "/v1/orders", body, { token: swapped });
  assert.equal(status, 401);
  assert.equal(err.error.name, "invalid_query_payload");
  assert.equal(h.exchange.allOrders().length, 0);
  const [created] = await callJson(h, "POST", "/v1/orders", body);
  assert.equal(created, 201);
  h.close();
});

Deno.test("auth answers out_of_scope, expired_access_key and no_authorization_ip", async () => {
  const h = createHarness();
  const [s1, b1] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "price",
    price: "10000",
  }, { key: KEY_VIEW_ONLY });
  assert.equal(s1, 403);
  assert.equal(b1.error.name, "out_of_scope");
  assert.equal(h.exchange.allOrders().length, 0);
  const [s2] = await callJson(h, "GET", "/v1/accounts", [], { key: KEY_VIEW_ONLY });
  assert.equal(s2, 200);

  const now = Date.UTC(2026, 10, 24);
  const auth = new SandboxAuth([
    { ...KEY_A, accountId: "a", expiresAtMs: now - 1 },
    { ...KEY_B, accountId: "b", allowedIps: ["10.0.0.1"] },
  ], { nowMs: () => now });
  const expired = await auth.verify({
    authorization: `Bearer ${await signToken(KEY_A)}`,
    rawQuery: "",
  });
  assert.equal(!expired.ok && expired.error.name, "expired_access_key");
  const token = await signToken(KEY_B);
  const wrongIp = await auth.verify({
    authorization: `Bearer ${token}`,
    rawQuery: "",
    ip: "1.2.3.4",
  });
  assert.equal(!wrongIp.ok && wrongIp.error.name, "no_authorization_ip");
  const rightIp = await auth.verify({
    authorization: `Bearer ${await signToken(KEY_B)}`,
    rawQuery: "",
    ip: "10.0.0.1",
  });
  assert.ok(rightIp.ok);
  assert.equal(rightIp.value.accountId, "b");
  h.close();
});

Deno.test("auth keeps accounts apart: key B cannot see account A's orders", async () => {
  const h = createHarness();
  const [, order] = await callJson(h, "POST", "/v1/orders", {
    market: "KRW-BTC",
    side: "bid",
    ord_type: "limit",
    price: "100000000",
    volume: "0.0001",
  });
  const [status, body] = await callJson(h, "GET", "/v1/order", [["uuid", order.uuid]], {
    key: KEY_B,
  });
  assert.equal(status, 404);
  assert.equal(body.error.name, "order_not_found");
  const res = await call(h, "GET", "/v1/order", [["uuid", order.uuid]]);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  h.close();
});

Deno.test("auth remembers spent nonces for the window only, and at most maxNoncesPerKey", async () => {
  const real = { now: 0 };
  const auth = new SandboxAuth([{ ...KEY_A, accountId: "a" }], {
    nowMs: () => 0,
    realNowMs: () => real.now,
    nonceWindowMs: 1000,
    maxNoncesPerKey: 5,
  });
  const spend = async (nonce: string) =>
    await auth.verify({
      authorization: `Bearer ${await signToken(KEY_A, { nonce })}`,
      rawQuery: "",
    });
  for (let i = 0; i < 10; i++) assert.ok((await spend(`n${i}`)).ok);
  assert.equal(auth.nonceCount(), 5, "the count cap holds");
  const replay = await spend("n9");
  assert.equal(!replay.ok && replay.error.name, "nonce_used", "a recent nonce is still spent");
  real.now = 1000;
  assert.ok((await spend("fresh")).ok);
  assert.equal(auth.nonceCount(), 1, "the window forgets older nonces");
  // Forged tokens spend nothing: the signature is checked before the nonce.
  const forged = await auth.verify({
    authorization: `Bearer ${await signToken({ ...KEY_A, secretKey: "wrong" }, { nonce: "f" })}`,
    rawQuery: "",
  });
  assert.equal(!forged.ok && forged.error.name, "jwt_verification");
  assert.equal(auth.nonceCount(), 1);
});
