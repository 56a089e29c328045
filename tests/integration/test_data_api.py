"""Data API stage: CRUD through API Gateway + authorizer, problem answers, and the lake following."""

from __future__ import annotations

import pytest

from tests.integration.helpers import until_in_view
from txdagster.local.api_client import ApiClient
from txdagster.local.provision import READERS_GROUP, create_user, user_token

pytestmark = pytest.mark.integration


def record(transaction_id: str, **changes) -> dict:
    return {
        "transaction_id": transaction_id,
        "source_system": "payments",
        "account_id": "ACC-API",
        "counterparty": "Test Counterparty",
        "amount": "250.10",
        "currency": "EUR",
        "transaction_type": "payment",
        "status": "authorized",
        "event_time": "2026-11-27T08:30:00Z",
        "ingested_at": "2026-11-27T08:30:01Z",
        "attributes": {"channel": "api"},
        **changes,
    }


def test_create_then_get_returns_the_stored_transaction_with_a_decimal_amount(api):
    created = api.create(record("payments:api-get"))
    assert created.status == 201
    fetched = api.get("payments:api-get")
    assert fetched.status == 200
    assert fetched.body["amount"] == "250.10"
    assert fetched.body["version"] == 1
    assert fetched.body["event_time"] == "2026-11-27T08:30:00.000000Z"


def test_replaying_the_same_create_is_idempotent_but_different_content_conflicts(api):
    assert api.create(record("payments:api-replay")).status == 201
    replay = api.create(record("payments:api-replay", ingested_at="2026-11-27T09:00:00Z"))
    assert replay.status == 200
    assert replay.body["version"] == 1
    conflict = api.create(record("payments:api-replay", amount="999.00"))
    assert conflict.status == 409
    assert conflict.content_type == "application/problem+json"
    assert "already exists" in conflict.body["detail"]


def test_invalid_body_gets_a_422_problem_naming_the_field(api):
    reply = api.create(record("payments:api-bad", amount=250.1))
    assert reply.status == 422
    assert reply.content_type == "application/problem+json"
    assert "amount" in reply.body["detail"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "XYZ"),
        ("currency", "HRK"),
        ("account_id", "ACC\u0000"),
        ("counterparty", "\u001b[31m"),
        ("counterparty", "abc\u202edcba"),
        ("attributes", {"channel": "a\u0007"}),
    ],
)
def test_values_the_contract_refuses_get_a_422_naming_the_field_and_store_nothing(api, field, value):
    tid = f"payments:api-refused-{field}-{abs(hash(str(value))) % 10_000}"
    reply = api.create(record(tid, **{field: value}))
    assert reply.status == 422
    assert reply.content_type == "application/problem+json"
    assert field in reply.body["detail"]
    assert api.get(tid).status == 404


def test_update_with_a_stale_version_is_a_409_and_leaves_the_item(api):
    api.create(record("payments:api-stale"))
    assert api.update("payments:api-stale", record("payments:api-stale", status="settled", version=1)).status == 200
    stale = api.update("payments:api-stale", record("payments:api-stale", status="failed", version=1))
    assert stale.status == 409
    assert api.get("payments:api-stale").body["status"] == "settled"


def test_missing_transaction_is_a_404_problem(api):
    reply = api.get("payments:never-created")
    assert reply.status == 404
    assert reply.body["status"] == 404


def test_requests_without_a_token_are_401_and_forged_tokens_are_rejected(settings):
    assert ApiClient(settings.api_url, None).get("payments:api-get").status == 401
    assert ApiClient(settings.api_url, "not.a.jwt").get("payments:api-get").status == 401


def test_a_reader_can_read_but_not_write(stack, settings, api):
    api.create(record("payments:api-reader"))
    pool_id = settings.cognito_issuer.rsplit("/", 1)[-1]
    create_user(settings, pool_id, "reader", "Reader-Passw0rd!", [READERS_GROUP])
    reader = ApiClient(settings.api_url, user_token(settings, stack.analyst.client_id, "reader", "Reader-Passw0rd!"))
    assert reader.get("payments:api-reader").status == 200
    denied = reader.create(record("payments:api-reader-2"))
    assert denied.status == 403
    assert "transactions/write" in denied.body["detail"]


def test_update_and_delete_through_the_api_are_reflected_in_transactions_current(api, settings, orchestrator):
    api.create(record("payments:api-upd"))
    api.create(record("payments:api-del"))
    current = api.get("payments:api-upd").body
    assert api.update("payments:api-upd", {**current, "status": "settled"}).status == 200
    assert api.delete("payments:api-del").status == 204
    assert api.get("payments:api-del").status == 404

    rows = until_in_view(
        settings,
        orchestrator,
        lambda r: r.get("payments:api-upd", {}).get("version") == 2 and "payments:api-del" not in r,
        "the update and the delete in transactions_current",
    )
    assert rows["payments:api-upd"]["status"] == "settled"


def test_list_by_account_returns_the_newest_first(api):
    api.create(record("payments:list-old", account_id="ACC-LIST", event_time="2026-11-01T00:00:00Z"))
    api.create(record("payments:list-new", account_id="ACC-LIST", event_time="2026-11-02T00:00:00Z"))
    reply = api.call("GET", "/transactions?account_id=ACC-LIST")
    assert reply.status == 200
    assert [i["transaction_id"] for i in reply.body["items"]] == ["payments:list-new", "payments:list-old"]


def test_update_needs_the_current_version_in_the_body_or_if_match(api):
    api.create(record("payments:if-match"))
    without = record("payments:if-match", status="settled")
    assert api.update("payments:if-match", without).status == 428
    reply = api.call("PUT", "/transactions/payments:if-match", without, headers={"If-Match": '"1"'})
    assert reply.status == 200
    assert reply.body["version"] == 2


def test_a_stale_if_match_on_put_or_delete_is_a_412_and_changes_nothing(api):
    api.create(record("payments:precondition"))
    assert (
        api.call(
            "PUT",
            "/transactions/payments:precondition",
            record("payments:precondition", status="settled"),
            headers={"If-Match": '"1"'},
        ).status
        == 200
    )
    stale_put = api.call(
        "PUT",
        "/transactions/payments:precondition",
        record("payments:precondition", status="failed"),
        headers={"If-Match": '"1"'},
    )
    stale_delete = api.call("DELETE", "/transactions/payments:precondition", headers={"If-Match": "1"})

    assert (stale_put.status, stale_delete.status) == (412, 412)
    assert stale_put.body["title"] == "Precondition Failed" and "another version than 1" in stale_put.body["detail"]
    stored = api.get("payments:precondition").body
    assert (stored["version"], stored["status"]) == (2, "settled")
    weak = api.call("DELETE", "/transactions/payments:precondition", headers={"If-Match": 'W/"2"'})
    assert weak.status == 412 and "weak tag" in weak.body["detail"]  # If-Match compares strongly (RFC 9110)
    assert api.call("DELETE", "/transactions/payments:precondition", headers={"If-Match": '"2"'}).status == 204
    assert api.get("payments:precondition").status == 404


@pytest.mark.parametrize("value", [str(10**40), "0", "-3", "two"])
def test_a_version_out_of_bounds_is_a_400_naming_it_never_a_5xx(api, value):
    api.create(record("payments:bounds"))
    put = api.call("PUT", "/transactions/payments:bounds", record("payments:bounds"), headers={"If-Match": value})
    delete_by_header = api.call("DELETE", "/transactions/payments:bounds", headers={"If-Match": value})
    delete_by_query = api.call("DELETE", f"/transactions/payments:bounds?version={value}")
    for reply, name in ((put, "If-Match"), (delete_by_header, "If-Match"), (delete_by_query, "version")):
        assert reply.status == 400 and name in reply.body["detail"], (name, reply.status, reply.body)
    assert api.get("payments:bounds").body["version"] == 1


def _body(tid: str, **changes) -> bytes:
    import json

    body = record(tid, **changes)
    return json.dumps({k: v for k, v in body.items() if v is not ...}).encode()  # ... leaves a field out


DEEP = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
EXISTING = "payments:catalogue-existing"  # stored at version 1 before the catalogue runs
ONE = f"/transactions/{EXISTING}"
LIST = "/transactions?account_id=ACC-API"
#: A catalogue of bad calls: (method, path, body, headers) -> the 4xx it must get, with nothing stored.
BAD_CALLS = {
    # bodies the contract refuses (422 names the field)
    "impossible date": ("POST", "/transactions", _body("payments:bad-1", event_time="2024-13-45T25:61:61Z"), {}, 422),
    "year zero": ("POST", "/transactions", _body("payments:bad-2", event_time="0000-01-01T00:00:00Z"), {}, 422),
    "year 2999": ("POST", "/transactions", _body("payments:bad-3", event_time="2999-01-01T00:00:00Z"), {}, 422),
    "before 1970": ("POST", "/transactions", _body("payments:bad-4", event_time="1969-12-31T23:59:59Z"), {}, 422),
    "epoch 0": ("POST", "/transactions", _body("payments:bad-4b", event_time="1970-01-01T00:00:00Z"), {}, 422),
    "time without offset": (
        "POST",
        "/transactions",
        _body("payments:bad-4c", event_time="2026-11-27T08:30:00"),
        {},
        422,
    ),
    "empty account": ("POST", "/transactions", _body("payments:bad-5", account_id=""), {}, 422),
    "unknown currency": ("POST", "/transactions", _body("payments:bad-6", currency="XYZ"), {}, 422),
    "NUL in text": ("POST", "/transactions", _body("payments:bad-7", counterparty="a\u0000b"), {}, 422),
    "RTL override": ("POST", "/transactions", _body("payments:bad-8", counterparty="abc\u202edef"), {}, 422),
    "amount as a number": ("POST", "/transactions", _body("payments:bad-9").replace(b'"250.10"', b"250.1"), {}, 422),
    "amount with exponent": ("POST", "/transactions", _body("payments:bad-10", amount="1e3"), {}, 422),
    "amount with spaces": ("POST", "/transactions", _body("payments:bad-11", amount=" 12.50 "), {}, 422),
    "amount with 5 decimals": ("POST", "/transactions", _body("payments:bad-11b", amount="1.23456"), {}, 422),
    "amount of 16 digits": ("POST", "/transactions", _body("payments:bad-11c", amount="1" * 16), {}, 422),
    "id too long": ("POST", "/transactions", _body("payments:" + "x" * 200), {}, 422),
    "51 attributes": (
        "POST",
        "/transactions",
        _body("payments:bad-13", attributes={f"k{i}": "v" for i in range(51)}),
        {},
        422,
    ),
    "20 kB attribute keys": (
        "POST",
        "/transactions",
        _body("payments:bad-14", attributes={f"{i}" * 20_000: "v" for i in range(1, 6)}),
        {},
        422,
    ),
    "version as text": ("POST", "/transactions", _body("payments:bad-15", version="2"), {}, 422),
    "unknown status": ("POST", "/transactions", _body("payments:bad-15b", status="settled-ish"), {}, 422),
    "upper-case source": ("POST", "/transactions", _body("payments:bad-15c", source_system="PAYMENTS"), {}, 422),
    "an unknown field": ("POST", "/transactions", _body("payments:bad-15d", surprise="x"), {}, 422),
    "a missing field": ("POST", "/transactions", _body("payments:bad-15e", currency=...), {}, 422),
    # bodies that cannot be read (400)
    "duplicate key": (
        "POST",
        "/transactions",
        _body("payments:bad-16").replace(b'"status"', b'"status": "failed", "status"'),
        {},
        400,
    ),
    "lone surrogate": (
        "POST",
        "/transactions",
        _body("payments:bad-17").replace(b"Test Counterparty", b"\\ud800"),
        {},
        400,
    ),
    "100k-deep body": ("POST", "/transactions", DEEP, {}, 400),
    "not JSON": ("POST", "/transactions", b"{not json", {}, 400),
    "not an object": ("POST", "/transactions", b"[1, 2]", {}, 400),
    "JSON null": ("POST", "/transactions", b"null", {}, 400),
    # the wrong media type (415)
    "content type not JSON": (
        "POST",
        "/transactions",
        _body("payments:bad-21"),
        {"Content-Type": "application/x-notjson"},
        415,
    ),
    "content type text": ("POST", "/transactions", _body("payments:bad-22"), {"Content-Type": "text/plain"}, 415),
    "content type JSON patch": ("PUT", ONE, _body(EXISTING), {"Content-Type": "application/json-patch+json"}, 415),
    # updates and deletes that do not hold (4xx, the item unchanged)
    "update without a version": ("PUT", ONE, _body(EXISTING, status="settled"), {}, 428),
    "update with a stale If-Match": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": '"7"'}, 412),
    "update with a stale body version": ("PUT", ONE, _body(EXISTING, status="settled", version=7), {}, 409),
    "update of another id": ("PUT", ONE, _body("payments:other", status="settled"), {"If-Match": "1"}, 422),
    "update of the source": ("PUT", ONE, _body(EXISTING, source_system="crm"), {"If-Match": "1"}, 422),
    "update of a missing id": (
        "PUT",
        "/transactions/payments:nowhere",
        _body("payments:nowhere"),
        {"If-Match": "1"},
        404,
    ),
    "If-Match as text": ("PUT", ONE, _body(EXISTING), {"If-Match": "two"}, 400),
    "If-Match of 10**40": ("PUT", ONE, _body(EXISTING), {"If-Match": str(10**40)}, 400),
    "delete with a stale If-Match": ("DELETE", ONE, None, {"If-Match": "7"}, 412),
    "delete with a stale ?version": ("DELETE", ONE + "?version=7", None, {}, 409),
    "delete with ?version=-3": ("DELETE", ONE + "?version=-3", None, {}, 400),
    "delete of a missing id": ("DELETE", "/transactions/payments:nowhere", None, {}, 404),
    # ids, parameters and methods the API does not serve
    "a 2000-character id": ("GET", "/transactions/" + "x" * 2000, None, {}, 400),
    "an id with a space": ("GET", "/transactions/%20spaced", None, {}, 400),
    "an id with a leading dash": ("DELETE", "/transactions/-leading-dash", None, {}, 400),
    "a list without account_id": ("GET", "/transactions", None, {}, 400),
    "a 5000-character account_id": ("GET", "/transactions?account_id=" + "A" * 5000, None, {}, 400),
    "limit -5": ("GET", LIST + "&limit=-5", None, {}, 400),
    "limit 10**30": ("GET", LIST + f"&limit={10**30}", None, {}, 400),
    "limit 0": ("GET", LIST + "&limit=0", None, {}, 400),
    "limit 101": ("GET", LIST + "&limit=101", None, {}, 400),
    "limit as text": ("GET", LIST + "&limit=ten", None, {}, 400),
    "a forged next_token": ("GET", LIST + "&next_token=bm90LWEtdG9rZW4", None, {}, 400),
    # round 2 (issue 19): weak tags, bytes that are not UTF-8, a client-chosen version
    "a weak If-Match on PUT": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": 'W/"1"'}, 412),
    "a weak If-Match on DELETE": ("DELETE", ONE, None, {"If-Match": 'W/"1"'}, 412),
    "a weak If-Match in lower case": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": 'w/"1"'}, 400),
    "If-Match *": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": "*"}, 400),
    "If-Match of two tags": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": '"1", "2"'}, 400),
    "byte 0xff in a body": ("POST", "/transactions", _body("payments:utf-1").replace(b"Test", b"T\xffst"), {}, 400),
    "latin-1 e-acute": ("POST", "/transactions", _body("payments:utf-2").replace(b"Test", b"T\xe9st"), {}, 400),
    "an overlong slash": ("POST", "/transactions", _body("payments:utf-3").replace(b"Test", b"T\xc0\xafst"), {}, 400),
    "a cut 3-byte character": (
        "POST",
        "/transactions",
        _body("payments:utf-4").replace(b"Test", b"T\xe2\x82st"),
        {},
        400,
    ),
    "an encoded surrogate": (
        "POST",
        "/transactions",
        _body("payments:utf-5").replace(b"Test", b"\xed\xa0\x80"),
        {},
        400,
    ),
    "a body in UTF-16": ("POST", "/transactions", _body("payments:utf-6").decode().encode("utf-16"), {}, 400),
    "a new transaction at version 99": ("POST", "/transactions", _body("payments:v-99", version=99), {}, 400),
    "a new transaction at version 2": ("POST", "/transactions", _body("payments:v-2", version=2), {}, 400),
    "a new transaction at version 0": ("POST", "/transactions", _body("payments:v-0", version=0), {}, 422),
    "an empty body": ("POST", "/transactions", b"", {}, 400),
    "a byte-order mark before the body": ("POST", "/transactions", b"\xef\xbb\xbf" + _body("payments:bom"), {}, 400),
    "amount NaN as text": ("POST", "/transactions", _body("payments:nan-text", amount="NaN"), {}, 422),
    "amount NaN as a literal": ("POST", "/transactions", _body("payments:nan").replace(b'"250.10"', b"NaN"), {}, 422),
    "amount in Arabic-Indic digits": (
        "POST",
        "/transactions",
        _body("payments:arabic", amount="\u0661\u0662"),
        {},
        422,
    ),
    "currency in fullwidth letters": (
        "POST",
        "/transactions",
        _body("payments:fw", currency="\uff25\uff35\uff32"),
        {},
        422,
    ),
    "status with a trailing space": ("POST", "/transactions", _body("payments:sp", status="settled "), {}, 422),
    "an offset of 25 hours": (
        "POST",
        "/transactions",
        _body("payments:tz", event_time="2026-11-27T10:00:00+25:00"),
        {},
        422,
    ),
    "attributes holding a number": ("POST", "/transactions", _body("payments:attr-n", attributes={"a": 1}), {}, 422),
    "ingested_at as a word": ("POST", "/transactions", _body("payments:ing", ingested_at="yesterday"), {}, 422),
    "a Cyrillic a in the id": ("POST", "/transactions", _body("p\u0430yments:1"), {}, 422),
    "a non-ASCII id": ("POST", "/transactions", _body("payments:caf\u00e9"), {}, 422),
    "content type application/json-seq": (
        "POST",
        "/transactions",
        _body("payments:seq"),
        {"Content-Type": "application/json-seq"},
        415,
    ),
    "content type multipart": (
        "POST",
        "/transactions",
        _body("payments:mp"),
        {"Content-Type": "multipart/form-data"},
        415,
    ),
    "an empty If-Match": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": ""}, 400),
    "an If-Match with one quote": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": '"1'}, 400),
    "an If-Match with text after the tag": ("PUT", ONE, _body(EXISTING, status="settled"), {"If-Match": '"1"x'}, 400),
    "a body version of -1": ("PUT", ONE, _body(EXISTING, status="settled", version=-1), {}, 422),
    "an update missing its currency": ("PUT", ONE, _body(EXISTING, currency=...), {"If-Match": "1"}, 422),
    "delete with an empty ?version": ("DELETE", ONE + "?version=", None, {}, 400),
    "limit 5.0": ("GET", LIST + "&limit=5.0", None, {}, 400),
    "limit in Arabic-Indic digits": ("GET", LIST + "&limit=%D9%A5", None, {}, 400),
    "limit 5_0": ("GET", LIST + "&limit=5_0", None, {}, 400),
    "an account_id holding NUL": ("GET", "/transactions?account_id=ACC%00X", None, {}, 400),
    "an id holding NUL": ("GET", "/transactions/payments%00x", None, {}, 400),
    "an id of two dots": ("GET", "/transactions/%2e%2e", None, {}, 400),
    "an id with an RTL override": ("GET", "/transactions/payments:%E2%80%AE1", None, {}, 400),
    "a next_token that is not base64": ("GET", LIST + "&next_token=!!!", None, {}, 400),
    "PATCH": ("PATCH", ONE, _body(EXISTING), {}, 405),
    "POST to an id": ("POST", ONE, _body(EXISTING), {}, 405),
    "DELETE the collection": ("DELETE", "/transactions", None, {}, 405),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_each_bad_call_of_the_catalogue_gets_its_4xx_problem_and_changes_nothing(api, case):
    import json

    assert len(BAD_CALLS) >= 40
    api.create(record(EXISTING))
    method, path, data, headers, status = BAD_CALLS[case]
    reply = api.call(method, path, data, headers=headers)
    assert reply.status == status, (case, reply.status, reply.body)
    assert reply.content_type == "application/problem+json"
    assert reply.body["status"] == status and reply.body["detail"]
    existing = api.get(EXISTING).body
    assert (existing["version"], existing["status"]) == (1, "authorized")  # unchanged
    if data is not None and data is not DEEP and status in (415, 422):
        tid = json.loads(data)["transaction_id"]
        assert api.get(tid).status in (404, 400) or tid == EXISTING  # nothing stored


def test_the_gateway_decodes_paths_and_a_wrong_method_is_a_405_naming_the_allowed_ones(api):
    api.create(record("payments:encoded"))
    assert api.call("GET", "/transactions/payments%3Aencoded").body["transaction_id"] == "payments:encoded"

    patch = api.call("PATCH", "/transactions/payments:encoded", {"status": "settled"})
    assert patch.status == 405 and patch.body["title"] == "Method Not Allowed"
    assert "DELETE, GET, PUT" in patch.body["detail"]
    options = api.call("OPTIONS", "/transactions")
    assert options.status == 204
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        api.base_url + "/transactions/payments:encoded",
        method="PATCH",
        data=b"{}",
        headers={"Authorization": f"Bearer {api.token}"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.headers["Allow"] == "OPTIONS, DELETE, GET, PUT"
    head = api.call("HEAD", "/transactions/payments:encoded")
    assert head.status == 405 and head.body is None  # no body on a HEAD answer
    assert api.get("payments:encoded").body["status"] == "authorized"


def test_paging_250_items_returns_each_exactly_once_and_a_forged_token_is_a_400(api, table):
    import base64
    import json
    from decimal import Decimal

    with table.batch_writer() as batch:
        for n in range(250):
            item = {
                **record(f"payments:page-{n:03d}", account_id="ACC-PAGES"),
                "amount": Decimal("1.00"),
                "event_time": f"2026-11-{1 + n % 25:02d}T10:{n % 60:02d}:00.000000Z",
                "version": 1,
            }
            batch.put_item(Item=item)
    seen, token, pages = [], None, 0
    while True:
        query = "/transactions?account_id=ACC-PAGES&limit=100" + (f"&next_token={token}" if token else "")
        reply = api.call("GET", query)
        assert reply.status == 200, reply.body
        seen += [i["transaction_id"] for i in reply.body["items"]]
        pages += 1
        token = reply.body["next_token"]
        if not token:
            break
    assert len(seen) == 250 and len(set(seen)) == 250 and pages >= 3

    first = api.call("GET", "/transactions?account_id=ACC-PAGES&limit=10").body["next_token"]
    tid, account, when = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))

    def forge(values) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()

    forged = {
        "garbage": "%%%not-base64",
        "other account": forge([tid, "ACC-API", when]),
        "moved time": forge([tid, account, "2026-11-30T00:00:00.000000Z"]),
        "unknown id": forge(["payments:nobody", account, when]),
        "not a list": forge({"a": 1}),
    }
    for case, bad in forged.items():
        reply = api.call("GET", f"/transactions?account_id=ACC-PAGES&limit=10&next_token={bad}")
        assert reply.status == 400 and "next_token" in reply.body["detail"], case
    other = api.call("GET", f"/transactions?account_id=ACC-API&next_token={first}")
    assert other.status == 400  # a token of one account never reads another


def test_a_store_that_fails_under_a_request_is_a_503_problem_with_retry_after_never_a_502(settings, api):
    from tests.integration.helpers import function_environment

    # a table that is not there, as after the local stack's AWS server was reset or mid-deployment
    with function_environment(settings, "data-api", TXD_TRANSACTIONS_TABLE="txd-table-not-there"):
        replies = [
            api.get("payments:during-outage"),
            api.create(record("payments:during-outage")),
            api.call("GET", "/transactions?account_id=ACC-API"),
            api.call("DELETE", "/transactions/payments:during-outage"),
        ]
    for reply in replies:
        assert (reply.status, reply.content_type) == (503, "application/problem+json"), reply
        assert reply.headers.get("Retry-After") == "5" and "ResourceNotFoundException" in reply.body["detail"]
    assert api.get("payments:during-outage").status == 404  # nothing was stored meanwhile
