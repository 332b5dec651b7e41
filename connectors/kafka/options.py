"""Options of the Kafka source (the names Kafka users know: bootstrap_servers, group_id, security_protocol...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from vts.connector import Options
from vts.schema import LType


class KafkaField(Options):
    """One column of ``field_schema``: how a message field becomes a column."""

    name: str = Field(description="Field name in the message value (and the column's name).")
    type: LType = Field(description="Logical type (BIGINT, STRING, FLOAT_VECTOR, JSON, ...).")
    primary_key: bool = Field(False, description="The column is the primary key.")
    nullable: bool = Field(False, description="The column may hold NULL.")
    max_length: int | None = Field(None, ge=1, description="Max bytes of a STRING column.")
    dimension: int | None = Field(None, ge=1, description="Dimension of a vector column.")
    element_type: LType | None = Field(None, description="Element type of an ARRAY column.")
    max_capacity: int | None = Field(None, ge=1, description="Max elements of an ARRAY column.")

    @model_validator(mode="after")
    def _coherent(self) -> KafkaField:
        if self.type.is_vector and self.type != LType.SPARSE_FLOAT_VECTOR and not self.dimension:
            raise ValueError(f"field '{self.name}' of type {self.type} needs 'dimension'")
        if self.type == LType.ARRAY and self.element_type is None:
            raise ValueError(f"field '{self.name}' of type ARRAY needs 'element_type'")
        return self


class KafkaSourceOptions(Options):
    bootstrap_servers: str = Field(description="Brokers, host:port[,host:port...].")
    topics: list[str] = Field(default_factory=list, description="Topics to read; each is a table.")
    topic_pattern: str | None = Field(
        None, description="A regular expression: every topic whose whole name matches is read (instead of topics)."
    )
    group_id: str = Field(
        "vts", description="Consumer group: offsets are committed to it once Milvus accepted the rows."
    )
    format: Literal["json", "json_schema", "avro", "debezium"] = Field(
        "json",
        description="Message values: JSON objects; Kafka Connect's {schema, payload} envelope; Avro (Confluent "
        "wire format or plain binary) decoded with avro_schema_file; Debezium change events.",
    )
    avro_schema_file: str | None = Field(None, description="An .avsc file: the writer schema of Avro values.")
    avro_confluent_wire: bool = Field(
        True, description="Avro values start with the Confluent wire header (magic byte 0, schema id)."
    )
    primary_key: str = Field("id", description="The value field holding the primary key.")
    key_field: str | None = Field(
        None,
        description="Take the primary key from the message key when the value lacks it (and for tombstones): "
        "the key is the key itself, or this field of a JSON key.",
    )
    field_schema: list[KafkaField] = Field(
        default_factory=list, description="The columns; default: inferred from the first messages of every partition."
    )
    dead_letter_topic: str | None = Field(
        None,
        description="Also produce rejected messages, unchanged, to this topic with Kafka Connect's error headers "
        "(they always go to the run's dead-letter file too).",
    )
    sample_messages: int = Field(100, ge=1, description="Messages per partition read to infer the schema.")
    start_from: Literal["earliest", "latest", "committed"] | datetime = Field(
        "earliest",
        description="Where a run without a checkpoint starts: earliest, latest, the group's committed offsets "
        "(earliest where none), or an ISO timestamp.",
    )
    mode: Literal["batch", "streaming"] = Field(
        "batch",
        description="batch: read up to the end offsets seen when the run starts, then finish; "
        "streaming: read until stopped (SIGINT/SIGTERM), resuming where it stopped.",
    )
    on_offset_out_of_range: Literal["fail", "earliest", "latest"] = Field(
        "fail",
        description="A resumed offset the broker no longer holds: fail (KAFKA-07), or skip to earliest/latest.",
    )
    batch_size: int = Field(1000, ge=1, description="Messages per batch handed to the sink.")
    poll_timeout: float = Field(
        1.0, gt=0, description="Seconds a streaming reader waits for messages before it reports its position."
    )
    timeout: float = Field(10.0, gt=0, description="Seconds a metadata or offset request may take.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How to talk to the brokers."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (a secret: masked in messages and logs).")
    ssl_ca_location: str | None = Field(None, description="CA certificate file (PEM).")
    ssl_certificate_location: str | None = Field(None, description="Client certificate file (PEM).")
    ssl_key_location: str | None = Field(None, description="Client key file (PEM).")
    properties: dict[str, Any] = Field(
        default_factory=dict, description="Further librdkafka consumer properties, passed as they are."
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _servers(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("'bootstrap_servers' is empty: give host:port of at least one broker")
        return value.strip()

    @model_validator(mode="after")
    def _coherent(self) -> KafkaSourceOptions:
        if bool(self.topics) == bool(self.topic_pattern):
            raise ValueError("give either 'topics' (a list) or 'topic_pattern', not both and not neither")
        if self.format == "avro" and not self.avro_schema_file:
            raise ValueError("format 'avro' needs 'avro_schema_file' (the .avsc writer schema)")
        if self.sasl_mechanism and not (self.sasl_username and self.sasl_password):
            raise ValueError("'sasl_mechanism' needs 'sasl_username' and 'sasl_password'")
        if self.field_schema:
            keys = [f.name for f in self.field_schema if f.primary_key]
            if len(keys) != 1:
                raise ValueError("'field_schema' needs exactly one field with primary_key: true")
        return self

    @property
    def key_name(self) -> str:
        """The primary key column."""
        if self.field_schema:
            return next(f.name for f in self.field_schema if f.primary_key)
        return self.primary_key
