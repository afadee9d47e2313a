/**
 * Upbit's Exchange API rejections as data: every refusal the sandbox can give carries the HTTP
 * status and the string `error.name` of `docs/upbit-api.md` §2.4 and §5, so handlers only
 * render `{"error":{"name","message"}}` and never invent a shape.
 */

/** Every `error.name` the sandbox's Exchange API answers with. */
export type ExchangeErrorName =
  | "no_authorization_token"
  | "jwt_verification"
  | "invalid_query_payload"
  | "nonce_used"
  | "expired_access_key"
  | "no_authorization_ip"
  | "invalid_access_key"
  | "out_of_scope"
  | "create_bid_error"
  | "create_ask_error"
  | "insufficient_funds_bid"
  | "insufficient_funds_ask"
  | "under_min_total_bid"
  | "under_min_total_ask"
  | "over_krw_funds_bid"
  | "over_krw_funds_ask"
  | "invalid_price_bid"
  | "invalid_price_ask"
  | "invalid_volume_bid"
  | "invalid_volume_ask"
  | "invalid_time_in_force"
  | "duplicated_identifier"
  | "invalid_parameter"
  | "validation_error"
  | "notfoundmarket"
  | "QUERY_PARAMETER_NOT_SUPPORTED"
  | "market_offline"
  | "order_not_found"
  | "currency_not_found"
  | "internal_server_error";

/** An Upbit-shaped rejection: HTTP status, `error.name` and `error.message`. */
export interface ExchangeFailure {
  readonly status: 400 | 401 | 403 | 404 | 500;
  readonly name: ExchangeErrorName;
  readonly message: string;
}

/** A result that is either a value or an Upbit-shaped rejection. */
export type ExchangeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: ExchangeFailure };

const STATUS: Readonly<Record<ExchangeErrorName, ExchangeFailure["status"]>> = {
  no_authorization_token: 401,
  jwt_verification: 401,
  invalid_query_payload: 401,
  nonce_used: 401,
  expired_access_key: 401,
  no_authorization_ip: 401,
  invalid_access_key: 401,
  out_of_scope: 403,
  create_bid_error: 400,
  create_ask_error: 400,
  insufficient_funds_bid: 400,
  insufficient_funds_ask: 400,
  under_min_total_bid: 400,
  under_min_total_ask: 400,
  over_krw_funds_bid: 400,
  over_krw_funds_ask: 400,
  invalid_price_bid: 400,
  invalid_price_ask: 400,
  invalid_volume_bid: 400,
  invalid_volume_ask: 400,
  invalid_time_in_force: 400,
  duplicated_identifier: 400,
  invalid_parameter: 400,
  validation_error: 400,
  notfoundmarket: 400,
  QUERY_PARAMETER_NOT_SUPPORTED: 400,
  market_offline: 403,
  order_not_found: 404,
  currency_not_found: 404,
  internal_server_error: 500,
};

const DEFAULT_MESSAGE: Partial<Record<ExchangeErrorName, string>> = {
  no_authorization_token: "인증 정보가 존재하지 않습니다.",
  jwt_verification: "Jwt 토큰 검증에 실패했습니다.",
  invalid_query_payload: "Failed to verify the query of Jwt.",
  nonce_used: "이미 요청한 nonce값이 다시 사용되었습니다.",
  expired_access_key: "API 키가 만료되었습니다.",
  no_authorization_ip: "This is not a verified IP.",
  invalid_access_key: "잘못된 엑세스 키입니다.",
  out_of_scope: "권한이 부족합니다.",
  insufficient_funds_bid: "주문 가능한 금액(KRW)이 부족합니다.",
  insufficient_funds_ask: "주문 가능한 금액이 부족합니다.",
  under_min_total_bid: "최소주문금액 이상으로 주문해주세요.",
  under_min_total_ask: "최소주문금액 이상으로 주문해주세요.",
  over_krw_funds_bid: "최대 주문 가능 금액 1000000000 KRW 보다 작은 주문을 입력해 주세요.",
  over_krw_funds_ask: "최대 주문 가능 금액 1000000000 KRW 보다 작은 주문을 입력해 주세요.",
  invalid_price_bid: "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
  invalid_price_ask: "주문가격 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
  invalid_volume_bid: "주문수량 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
  invalid_volume_ask: "주문수량 단위를 잘못 입력하셨습니다. 확인 후 시도해주세요.",
  invalid_time_in_force: "주문조건을 다시 확인해 주세요.",
  duplicated_identifier: "이미 등록된 identifier입니다",
  invalid_parameter: "잘못된 파라미터",
  QUERY_PARAMETER_NOT_SUPPORTED: "DELETE 요청은 쿼리 파라미터만 지원합니다.",
  market_offline: "시스템 점검 중입니다. 점검이 완료된 후에 다시 시도해주세요.",
  order_not_found: "주문을 찾지 못했습니다.",
  currency_not_found: "Currency not found.",
  internal_server_error: "Internal Server Error",
};

/** Builds the rejection `name`, with Upbit's status and (unless given) its usual message. */
export function exchangeFailure(name: ExchangeErrorName, message?: string): ExchangeFailure {
  return { status: STATUS[name], name, message: message ?? DEFAULT_MESSAGE[name] ?? name };
}

/** A failed `ExchangeResult` for `name`. */
export function fail<T>(name: ExchangeErrorName, message?: string): ExchangeResult<T> {
  return { ok: false, error: exchangeFailure(name, message) };
}

/** A successful `ExchangeResult`. */
export function ok<T>(value: T): ExchangeResult<T> {
  return { ok: true, value };
}

/** The JSON body Upbit sends with a rejection. */
export function errorBody(failure: ExchangeFailure): {
  error: { name: string; message: string };
} {
  return { error: { name: failure.name, message: failure.message } };
}
