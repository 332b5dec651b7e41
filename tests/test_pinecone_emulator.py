"""The emulator is strict where Pinecone is: raw requests a lenient fake would accept are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.pinecone_emulator import API_VERSION, DEFAULT, EmuIndex, Emulator
from tests.pinecone_fixtures import KEY, fill

HEADERS = {"Api-Key": KEY, "X-Pinecone-Api-Version": API_VERSION}


@pytest.fixture
def index(clean: Emulator) -> EmuIndex:
    return fill(clean, {DEFAULT: 150, "alpha": 5})[0]


def get(index: EmuIndex, path: str, params: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(index.url + path, params=params, headers=HEADERS if headers is None else headers)


def test_a_data_plane_401_is_text_plain(index: EmuIndex) -> None:
    res = get(index, "/vectors/list", {"namespace": ""}, {"Api-Key": "wrong", "X-Pinecone-Api-Version": API_VERSION})
    assert res.status_code == 401 and res.headers["content-type"] == "text/plain" and res.text == "Unauthorized"


def test_the_api_version_header_is_required(index: EmuIndex) -> None:
    assert get(index, "/vectors/list", {"namespace": ""}, {"Api-Key": KEY}).status_code == 400


def test_list_needs_the_namespace_and_a_limit_of_1_to_100(index: EmuIndex) -> None:
    assert get(index, "/vectors/list").status_code == 400
    assert get(index, "/vectors/list", {"namespace": "", "limit": 101}).status_code == 400
    assert get(index, "/vectors/list", {"namespace": "", "limit": 0}).status_code == 400
    body = get(index, "/vectors/list", {"namespace": "", "limit": 100}).json()
    assert len(body["vectors"]) == 100 and "next" in body["pagination"]


def test_the_last_page_has_no_pagination_key_and_ids_come_in_byte_order(index: EmuIndex) -> None:
    first = get(index, "/vectors/list", {"namespace": "", "limit": 100}).json()
    last = get(index, "/vectors/list", {"namespace": "", "paginationToken": first["pagination"]["next"]}).json()
    assert "pagination" not in last and len(last["vectors"]) == 50
    ids = [v["id"] for v in first["vectors"] + last["vectors"]]
    assert ids == sorted(ids, key=str.encode)


def test_a_token_is_bound_to_its_namespace_and_expires(clean: Emulator, index: EmuIndex) -> None:
    token = get(index, "/vectors/list", {"namespace": "", "limit": 10}).json()["pagination"]["next"]
    assert get(index, "/vectors/list", {"namespace": "alpha", "paginationToken": token}).status_code == 400
    clean.expire_tokens()
    res = get(index, "/vectors/list", {"namespace": "", "paginationToken": token})
    assert res.status_code == 400 and "pagination token" in res.json()["message"]


def test_fetch_takes_repeated_ids_not_comma_joined_ones_and_at_most_1000(index: EmuIndex) -> None:
    ids = [v["id"] for v in get(index, "/vectors/list", {"namespace": "", "limit": 3}).json()["vectors"]]
    assert len(get(index, "/vectors/fetch", [("ids", i) for i in ids]).json()["vectors"]) == 3
    assert get(index, "/vectors/fetch", {"ids": ",".join(ids)}).json()["vectors"] == {}  # one id no vector has
    assert get(index, "/vectors/fetch", [("ids", f"x{i}") for i in range(1001)]).status_code == 400
    missing = get(index, "/vectors/fetch", [("ids", ids[0]), ("ids", "absent")]).json()["vectors"]
    assert list(missing) == [ids[0]]


def test_stats_name_the_default_namespace_and_keep_metadata_numbers_as_floats(index: EmuIndex) -> None:
    stats = httpx.post(index.url + "/describe_index_stats", json={}, headers=HEADERS).json()
    assert stats["namespaces"] == {DEFAULT: {"vectorCount": 150}, "alpha": {"vectorCount": 5}}
    some = get(index, "/vectors/list", {"namespace": "alpha", "limit": 1}).json()["vectors"][0]["id"]
    meta = get(index, "/vectors/fetch", {"ids": some, "namespace": "alpha"}).json()["vectors"][some]["metadata"]
    assert isinstance(meta["n"], float)


def test_pod_indexes_refuse_list_and_namespaces_and_document_indexes_refuse_vectors(clean: Emulator) -> None:
    pod = fill(clean, {"a": 3}, kind="pod")[0]
    assert get(pod, "/vectors/list", {"namespace": "a"}).status_code == 400
    assert get(pod, "/namespaces").status_code == 400
    doc = clean.add_index("docs-strict", document=True)
    assert get(doc, "/vectors/fetch", {"ids": "a"}).status_code == 400


def test_429_carries_retry_after(clean: Emulator, index: EmuIndex) -> None:
    clean.rate_limit = 1.0
    res = get(index, "/vectors/list", {"namespace": ""})
    assert res.status_code == 429 and "retry-after" in res.headers
