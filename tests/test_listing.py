"""`vts connectors`: options grouped, defaults written as a user writes them in YAML, secrets marked."""

from __future__ import annotations

import pytest
import yaml
from pydantic import Field, SecretStr, TypeAdapter

from tests.conftest import run_vts
from vts import listing, registry
from vts.connector import Options


def _connectors() -> list[tuple[str, str, type]]:
    return [
        (kind, name, registry.resolve(kind, name, kind))  # type: ignore[arg-type]
        for kind, names in registry.available().items()
        for name in names
    ]


def _option(kind: str, name: str, key: str, nested: bool = False) -> listing.OptionLine:
    cls = registry.resolve(kind, name, kind)  # type: ignore[arg-type]
    return next(o for o in listing.options(cls.Options, kind, nested) if o.key == key)


def test_datagen_default_fields_are_listed_as_yaml_mappings_not_python_reprs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_vts("connectors", "DataGen", capsys=capsys)
    assert code == 0
    assert "- {name: id, type: BIGINT, primary_key: true}" in out
    assert "- {name: vector, type: FLOAT_VECTOR, dimension: 128}" in out
    assert "- {name: title, type: STRING, max_length: 256}" in out
    for python in ("LType", "name='id'", "True", "None", "<"):
        assert python not in out, python


@pytest.mark.parametrize(("kind", "name"), [(k, n) for k, n, _ in _connectors()])
def test_every_listed_default_reads_back_as_the_options_default(kind: str, name: str) -> None:
    cls = registry.resolve(kind, name, kind)  # type: ignore[arg-type]
    for opt in listing.options(cls.Options, kind):
        if opt.secret or opt.default in (listing.REQUIRED, listing.UNSET):
            continue
        info = next(i for n, i in cls.Options.model_fields.items() if (i.alias or n) == opt.key)
        written = [yaml.safe_load(item.removeprefix("- ")) for item in opt.items] if opt.items else None
        value = written if written is not None else yaml.safe_load(opt.default)
        assert TypeAdapter(info.annotation).validate_python(value) == info.get_default(call_default_factory=True), (
            opt.key
        )


def test_options_fall_into_connection_reading_writing_and_advanced_groups() -> None:
    assert _option("sink", "Milvus", "url").group == "connection"
    assert _option("sink", "Milvus", "token").group == "connection"
    assert _option("sink", "Milvus", "schema_save_mode").group == "writing"
    assert _option("sink", "Milvus", "batch_size").group == "writing"
    assert _option("sink", "Milvus", "rate_limit_backoff").group == "advanced"
    assert _option("source", "Milvus", "batch_size").group == "reading"
    assert _option("source", "Pgvector", "password").group == "connection"
    assert _option("source", "Qdrant", "use_tls").group == "connection"  # by the key a job file uses
    assert _option("transform", "FieldRename", "fields").group == "options"
    lines = listing.render("Milvus", "sink", "doc", registry.resolve("sink", "Milvus", "sink").Options)
    assert [line.strip() for line in lines if not line.startswith("    ")][1:] == ["connection", "writing", "advanced"]


def test_a_connector_can_place_an_option_in_a_group_itself() -> None:
    class Opts(Options):
        window: int = Field(8, description="Tuning.", json_schema_extra={"group": "advanced"})
        table: str = Field(description="What to read.")

    assert [(o.key, o.group) for o in listing.options(Opts, "source")] == [("window", "advanced"), ("table", "reading")]


def test_secrets_are_marked_and_a_set_secret_default_is_never_shown() -> None:
    class Opts(Options):
        api_key: SecretStr = Field(SecretStr("hunter2-default"), description="Key.")
        secret_key: str | None = Field(None, description="Named like a secret.")
        region: str = Field("eu", description="Not a secret.")

    by_key = {o.key: o for o in listing.options(Opts, "sink")}
    assert by_key["api_key"].secret and by_key["api_key"].label == "api_key (secret)"
    assert by_key["api_key"].default == "***"
    assert by_key["secret_key"].secret and not by_key["region"].secret
    assert "hunter2" not in "\n".join(listing.render("X", "sink", "doc", Opts))
    assert _option("sink", "Milvus", "token").label == "token (secret)"
    assert _option("source", "Qdrant", "api_key").secret


def test_choices_of_an_enum_or_literal_option_are_listed() -> None:
    assert "One of: APPEND_DATA, DROP_DATA, ERROR_WHEN_DATA_EXISTS." in _option("sink", "Milvus", "data_save_mode").doc
    assert "One of" not in _option("source", "Qdrant", "multivector").doc  # its text already names them


def test_one_connector_shows_the_keys_of_its_nested_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    index = _option("sink", "Milvus", "index", nested=True)
    assert index.default == "{index_type: AUTOINDEX}"
    assert [o.key for o in index.nested] == ["index_type", "metric_type", "params"]
    bulk = _option("sink", "Milvus", "bulk_writer_config", nested=True)
    assert {"cloud_id", "bucket_name", "secret_key"} <= {o.key for o in bulk.nested}
    assert "Each item:" in _option("source", "DataGen", "fields", nested=True).doc
    _, one, _ = run_vts("connectors", "milvus", capsys=capsys)
    _, every, _ = run_vts("connectors", capsys=capsys)
    assert "      cloud_id" in one and "      cloud_id" not in every  # (the Elasticsearch source has its own cloud_id)


def test_an_unknown_connector_name_is_a_usage_error_naming_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_vts("connectors", "Milvs", capsys=capsys)
    assert code == 2 and out == ""
    assert "VTS-04" in err and "did you mean 'Milvus'?" in err


@pytest.mark.parametrize("value", ["", "yes", "1.0", "null", "./milvus.db", "a: b", [], {}, {"M": 16}, [1, "x"]])
def test_yaml_text_reads_back_as_the_same_value(value: object) -> None:
    assert yaml.safe_load(listing.yaml_text(value)) == value
