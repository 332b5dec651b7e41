"""Run by tests/test_elasticsearch_client8.py under .venv-es8 (the real elasticsearch-py 8.x client):
read one index the way a reader does — info, a sliced point in time sorted on _shard_doc with
search_after, a scroll — and print what came back as JSON. Imports nothing of vts or tests, since that
venv holds only the client."""

from __future__ import annotations

import json
import sys

import elasticsearch
from elasticsearch import Elasticsearch


def main(url: str, index: str) -> None:
    client = Elasticsearch(url)
    info = client.info()
    pit = client.open_point_in_time(index=index, keep_alive="1m")["id"]
    pit_ids: list[str] = []
    for slice_id in range(2):
        after = None
        while True:
            body = {
                "size": 50,
                "pit": {"id": pit, "keep_alive": "1m"},
                "sort": ["_shard_doc"],
                "slice": {"id": slice_id, "max": 2},
            }
            if after is not None:
                body["search_after"] = after
            page = client.search(body=body)
            assert page["_shards"]["failed"] == 0 and not page["timed_out"]
            pit = page["pit_id"]
            hits = page["hits"]["hits"]
            if not hits:
                break
            pit_ids.extend(h["_id"] for h in hits)
            after = hits[-1]["sort"]
    client.close_point_in_time(id=pit)
    scroll_ids: list[str] = []
    page = client.search(index=index, scroll="1m", size=70, sort=["_doc"])
    while page["hits"]["hits"]:
        scroll_ids.extend(h["_id"] for h in page["hits"]["hits"])
        page = client.scroll(scroll_id=page["_scroll_id"], scroll="1m")
    client.clear_scroll(scroll_id=page["_scroll_id"])
    print(
        json.dumps(
            {
                "client": elasticsearch.__versionstr__,
                "server": info["version"]["number"],
                "pit_ids": pit_ids,
                "scroll_ids": scroll_ids,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
