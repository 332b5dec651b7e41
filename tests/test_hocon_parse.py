"""VTS HOCON jobs read as SeaTunnel reads them: duplicate blocks, variables, shade, names, warnings."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from vts import config, hocon
from vts.errors import VtsError

MILVUS_SINK = 'sink { Milvus { url = "./out.db" } }'


def convert(text: str, **variables: str) -> hocon.Converted:
    return hocon.convert(text, "job.conf", variables, environ={})


def test_duplicate_plugin_blocks_stay_apart_in_their_order() -> None:
    text = (
        """
    source { FakeSource { row.num = 1, schema.fields { a = int } } }
    transform {
      Sql { query = "SELECT a FROM datagen" }
      Sql { query = "SELECT a, a + 1 AS b FROM datagen" }
      FieldRename { fields { b = c } }
    }
    """
        + MILVUS_SINK
    )
    raw = convert(text).raw
    assert raw["transform"] == [
        {"Sql": {"query": "SELECT a FROM datagen"}},
        {"Sql": {"query": "SELECT a, a + 1 AS b FROM datagen"}},
        {"FieldRename": {"fields": {"b": "c"}}},
    ]


def test_two_sources_are_refused_naming_both() -> None:
    text = "source {\n FakeSource { row.num = 1 }\n FakeSource { row.num = 2 }\n}\n" + MILVUS_SINK
    with pytest.raises(VtsError) as err:
        convert(text)
    assert err.value.code == "VTS-01" and "2 sources (FakeSource, FakeSource): vts runs one source" in err.value.message


def test_the_prepass_leaves_strings_comments_and_nested_blocks_alone() -> None:
    text = """
    # source { Milvus {} } in a comment
    env { note = "sink { Milvus { } }" }   // and in a string
    source { milvus = { url = "a.db", index { metric_type = IP } } }
    sink { "Milvus" { url = "b.db" } }
    """
    numbered = hocon.number_plugins(text)
    assert '"0@milvus" = {' in numbered and '"1@Milvus" {' in numbered
    assert "# source { Milvus {} } in a comment" in numbered and '"sink { Milvus { } }"' in numbered
    assert "index { metric_type" in numbered


def test_plugin_names_match_in_any_case() -> None:
    raw = convert('SOURCE = 1\nsource { fakesource { schema.fields { a = int } } }\nsink { MILVUS { url = "x.db" } }')
    assert list(raw.raw["source"]) == ["DataGen"] and list(raw.raw["sink"]) == ["Milvus"]


def test_fake_source_maps_to_datagen_with_its_schema_and_row_count() -> None:
    text = (
        """source { FakeSource {
        row.num = 16, vector.dimension = 8
        schema = { fields { name = "string", age = "int", tags = "array<bigint>", v = "float_vector", m = "map<string, string>" } }
    } }"""
        + MILVUS_SINK
    )
    datagen = convert(text).raw["source"]["DataGen"]
    assert datagen == {
        "row_count": 16,
        "fields": [
            {"name": "name", "type": "STRING"},
            {"name": "age", "type": "INT"},
            {"name": "tags", "type": "ARRAY", "element_type": "BIGINT"},
            {"name": "v", "type": "FLOAT_VECTOR", "dimension": 8},
            {"name": "m", "type": "MAP"},
        ],
    }


def test_unquoted_variables_come_from_i_then_the_environment_and_lists_stay_lists() -> None:
    text = """
    env { parallelism = ${par} }
    source { Milvus { url = ${src}, collections = ${colls} } }
    sink { Milvus { url = "out.db", batch_size = ${size} } }
    """
    raw = hocon.convert(
        text, "j.conf", {"src": "./in.db", "colls": "[a,b]", "par": "3"}, {"size": "77", "par": "9"}
    ).raw
    assert raw["source"]["Milvus"] == {"url": "./in.db", "collections": ["a", "b"]}
    assert raw["sink"]["Milvus"]["batch_size"] == "77" and raw["env"]["parallelism"] == "3"
    job = config.build(raw)
    assert job.sink.options.batch_size == 77 and job.env.parallelism == 3


def test_a_missing_variable_is_a_coded_error_saying_how_to_pass_it() -> None:
    with pytest.raises(VtsError) as err:
        convert("source { Milvus { url = ${nowhere} } }\n" + MILVUS_SINK)
    assert err.value.code == "VTS-03" and "nowhere" in err.value.message and "-i nowhere=" in (err.value.hint or "")


def test_quoted_variables_are_the_second_pass_from_i_only_and_unknown_ones_stay() -> None:
    text = (
        """
    source { Milvus { url = "${dir:/data}/in.db", collections = ["${coll}", "${other:fallback}", "${HOME}"] } }
    """
        + MILVUS_SINK
    )
    raw = hocon.convert(text, "j.conf", {"coll": "docs"}, {"HOME": "/root", "coll": "env-value"}).raw
    assert raw["source"]["Milvus"] == {"url": "/data/in.db", "collections": ["docs", "fallback", "${HOME}"]}


def test_base64_shaded_secrets_are_decoded_and_bad_ones_refused() -> None:
    token = base64.b64encode(b"root:Milvus").decode()
    text = f'env {{ shade.identifier = "base64" }}\nsource {{ Milvus {{ url = "in.db", token = "{token}" }} }}\n'
    job = config.build(convert(text + MILVUS_SINK).raw)
    assert job.source.options.token.get_secret_value() == "root:Milvus"
    with pytest.raises(VtsError) as err:
        convert(text.replace(token, "not base64!") + MILVUS_SINK)
    assert (
        err.value.code == "VTS-01"
        and "source.Milvus.token" in err.value.message
        and "not base64!" not in str(err.value)
    )
    with pytest.raises(VtsError) as err:
        convert(text.replace('"base64"', '"aes256"') + MILVUS_SINK)
    assert "aes256" in err.value.message


def test_every_key_vts_does_not_use_is_a_warning_naming_the_closest_option() -> None:
    text = """
    env { job.name = "x" }
    source { Milvus { url = "in.db", batch_sise = 10 } }
    sink { Milvus { url = "out.db", functionList = [], timezone = "UTC" } }
    """
    converted = convert(text)
    assert converted.warnings == [
        "env.job.name is ignored: vts's env has no such option; did you mean 'job.mode'?",
        "source.Milvus.batch_sise is ignored: vts's Milvus has no such option; did you mean 'batch_size'?",
        "sink.Milvus.functionList is ignored: vts's Milvus has no such option",
        "sink.Milvus.timezone is ignored: vts's Milvus has no such option; did you mean 'timeout'?",
    ]
    assert converted.raw["sink"] == {"Milvus": {"url": "out.db"}}


def test_vts_options_handled_differently_each_get_one_line() -> None:
    text = (
        """
    env { parallelism = 2, job.mode = "batch", checkpoint.interval = 10000 }
    source { Qdrant { host = "127.0.0.1", port = 6334, use_tls = false, collection_name = "c", batch_size = 100 } }
    """
        + MILVUS_SINK
    )
    converted = convert(text)
    assert converted.raw["env"] == {"parallelism": 2, "job.mode": "BATCH", "checkpoint": {"interval": 10.0}}
    assert converted.raw["source"]["Qdrant"] == {
        "host": "127.0.0.1", "grpc_port": 6334, "prefer_grpc": True, "use_tls": False, "collection_name": "c",
        "batch_size": 100,
    }  # fmt: skip
    assert converted.warnings == [
        "env.checkpoint.interval = 10000 is VTS's milliseconds: vts checkpoints each split every 10 s",
        "source.Qdrant.port is VTS's gRPC port: vts reads it as 'grpc_port' and talks gRPC (prefer_grpc = true)",
    ]


def test_jdbc_with_a_postgresql_url_becomes_the_pgvector_source() -> None:
    text = (
        """source { Jdbc {
        url = "jdbc:postgresql://db.example:5433/shop?sslmode=require"
        driver = "org.postgresql.Driver", user = "app", password = "pw"
        table_path = "shop.public.items", where_condition = "where lang = 'en'", fetch_size = 500
    } }"""
        + MILVUS_SINK
    )
    converted = convert(text)
    assert converted.raw["source"] == {
        "Pgvector": {
            "host": "db.example", "port": 5433, "database": "shop", "sslmode": "require", "table": "public.items",
            "user": "app", "password": "pw", "where": "lang = 'en'", "batch_size": 500,
        }
    }  # fmt: skip
    assert any("driver is not needed" in w for w in converted.warnings)
    with pytest.raises(VtsError) as err:
        convert('source { Jdbc { url = "jdbc:mysql://h/db" } }\n' + MILVUS_SINK)
    assert err.value.code == "VTS-04" and "mysql" in err.value.message


def test_a_vts_plugin_vts_lacks_is_refused_listing_what_vts_has() -> None:
    with pytest.raises(VtsError) as err:
        convert('source { MongoDB { uri = "mongodb://h" } }\n' + MILVUS_SINK)
    assert err.value.code == "VTS-04"
    assert "VTS's MongoDB source has no vts counterpart yet" in err.value.message
    assert "DataGen" in err.value.message and "Pgvector" in err.value.message


def test_plugin_output_and_input_and_their_legacy_names_chain_the_stages() -> None:
    text = """
    source { FakeSource { result_table_name = "fake", schema.fields { a = int } } }
    transform {
      Sql { source_table_name = "fake", plugin_output = "doubled", query = "SELECT a * 2 AS a FROM fake" }
      Sql { plugin_input = "doubled", query = "SELECT a FROM doubled WHERE a > 2" }
    }
    sink { Console { plugin_input = "doubled_and_filtered_never_named" } }
    """
    with pytest.raises(VtsError) as err:
        convert(text)
    assert "no stage before it has that plugin_output" in err.value.message
    raw = convert(text.replace('plugin_input = "doubled_and_filtered_never_named"', "")).raw
    assert [t["Sql"]["table_name"] for t in raw["transform"]] == ["fake", "doubled"]
    skipping = text.replace('plugin_input = "doubled_and_filtered_never_named"', 'plugin_input = "fake"')
    with pytest.raises(VtsError) as err:
        convert(skipping)
    assert "output of FakeSource, not of the stage just before (Sql)" in err.value.message


def test_syntax_errors_are_coded_with_their_line() -> None:
    with pytest.raises(VtsError) as err:
        convert('env {\n  parallelism = 1\n}\nsource {\n  Milvus { url = "x" \n')
    assert err.value.code == "VTS-02" and "not valid HOCON at line" in err.value.message


def test_unquoted_durations_come_back_as_seconds() -> None:
    raw = convert('source { Milvus { url = "in.db", timeout = 90s } }\n' + MILVUS_SINK).raw
    assert raw["source"]["Milvus"]["timeout"] == 90.0


def test_comma_separated_strings_fill_list_options() -> None:
    raw = convert('source { Milvus { url = "in.db", collections = "a, b" } }\n' + MILVUS_SINK).raw
    assert raw["source"]["Milvus"]["collections"] == ["a", "b"]


def test_i_variables_on_a_yaml_job_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("source: {DataGen: {}}\nsink: {Milvus: {url: ./x.db}}\n")
    with pytest.raises(VtsError) as err:
        config.load(path, variables={"a": "1"})
    assert err.value.code == "VTS-01" and "HOCON" in err.value.message
