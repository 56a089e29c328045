"""Change batches (the stream exporter's DynamoDB-JSON lines) as ``transaction_changes`` rows."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from lambdas.stream_exporter.batch import SEQUENCE_DIGITS
from txdagster.contract.arrow import CHANGE_TYPES
from txdagster.contract.fields import FIELDS
from txdagster.ingest.columnar.arrays import NotColumnar, fail_if, one_array, value_set
from txdagster.ingest.columnar.attributes import attributes_map
from txdagster.ingest.columnar.native import ChangeColumns, ChangeImage, read_change_block
from txdagster.ingest.columnar.nesting import read_json_block
from txdagster.ingest.columnar.records import TIMESTAMP, canonical_table

_MAX_EPOCH_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z
_TAGS = {"string": "S", "timestamp": "S", "decimal": "N", "integer": "N"}
_IMAGE = pa.struct([(f.name, pa.struct([(_TAGS[f.kind], pa.string())])) for f in FIELDS if f.kind in _TAGS])
_CHANGE_PARSE = pj.ParseOptions(
    explicit_schema=pa.schema(
        [
            ("event_name", pa.string()),
            ("sequence_number", pa.string()),
            ("approximate_creation_time", pa.float64()),
            ("new_image", _IMAGE),
            ("old_image", _IMAGE),
        ]
    ),
    unexpected_field_behavior="infer",
)


def _image_field(image: pa.Array | None, name: str, tag: str, rows: int) -> pa.Array:
    """``image.<name>.<tag>`` (DynamoDB-JSON), all null where the image or the attribute is absent;
    any other type tag sends the block row by row."""
    if image is None or pa.types.is_null(image.type) or image.type.get_field_index(name) < 0:
        return pa.nulls(rows, pa.string())
    attribute = image.field(name)
    for i in range(attribute.type.num_fields):
        other = attribute.type.field(i).name
        if other != tag and attribute.field(i).null_count < rows:
            raise NotColumnar(f"{name} is a DynamoDB {other}, not {tag}")
    if attribute.type.get_field_index(tag) < 0:
        return pa.nulls(rows, pa.string())
    return pc.if_else(image.is_valid(), attribute.field(tag), pa.nulls(rows, pa.string()))


def typed_change_block(block: bytes | pa.Buffer) -> pa.Table:
    """A block of change-batch lines (the stream exporter's DynamoDB-JSON) as ``transaction_changes``
    rows: the image a change carries (NewImage, OldImage for a REMOVE) decoded column-wise. The C
    reader reads the common case; pyarrow's reader what it leaves (``native.py``)."""
    return typed_changes(read_change_block(block) or read_with_pyarrow(block))


def typed_changes(read: ChangeColumns) -> pa.Table:
    """A block's columns, from either reader, checked and typed."""
    rows = read.rows
    fail_if(pc.invert(pc.is_in(read.event, value_set=value_set(tuple(CHANGE_TYPES)))))
    removed = pc.equal(read.event, "REMOVE")
    new, old = read.images["new_image"], read.images["old_image"]
    for image, where in ((new, pc.invert(removed)), (old, removed)):
        fail_if(pc.and_(where, pc.invert(image.present)))  # a change without the image it needs
    columns = {name: pc.if_else(removed, old.fields[name], new.fields[name]) for name in new.fields}
    attributes = pc.if_else(removed, attributes_map(old.attributes, rows), attributes_map(new.attributes, rows))
    result = canonical_table(columns, attributes)
    fail_if(pc.invert(pc.match_substring_regex(read.sequence, r"^[0-9]{1,40}$")))
    seconds = read.seconds
    fail_if(pc.or_(pc.is_null(seconds), pc.or_(pc.less(seconds, 0), pc.greater(seconds, _MAX_EPOCH_SECONDS))))
    change_time = pc.cast(pc.cast(pc.round(pc.multiply(seconds, 1_000_000)), pa.int64()), TIMESTAMP)
    result = result.append_column("change_type", read.event)
    result = result.append_column("sequence_number", pc.utf8_lpad(read.sequence, SEQUENCE_DIGITS, "0"))
    return result.append_column("change_time", change_time)


def read_with_pyarrow(block: bytes | pa.Buffer) -> ChangeColumns:
    table = read_json_block(block, _CHANGE_PARSE)
    rows = table.num_rows
    images: dict[str, ChangeImage] = {}
    for side in ("new_image", "old_image"):
        image = one_array(table.column(side)) if side in table.column_names else None
        present = image.is_valid() if image is not None else pa.repeat(False, rows)
        fields = {
            f.name: _image_field(image, f.name, "N" if f.kind in ("decimal", "integer") else "S", rows)
            for f in FIELDS
            if f.kind != "map"
        }
        images[side] = ChangeImage(present, fields, _image_attributes(image, rows))
    return ChangeColumns(
        rows,
        one_array(table.column("event_name")),
        one_array(table.column("sequence_number")),
        one_array(table.column("approximate_creation_time")),
        images,
    )


def _image_attributes(image: pa.Array | None, rows: int) -> pa.Array | None:
    """``attributes.M`` of an image (a struct of ``{"S": ...}``) as a struct of text, for
    ``attributes_map``; None when no image has it."""
    if image is None or pa.types.is_null(image.type) or image.type.get_field_index("attributes") < 0:
        return None
    attribute = image.field("attributes")
    if attribute.type.get_field_index("M") < 0 or attribute.type.num_fields != 1:
        raise NotColumnar("attributes is not a DynamoDB map")
    values = attribute.field("M")
    if not pa.types.is_struct(values.type):
        return None
    children: list[pa.Field] = []
    for i in range(values.type.num_fields):
        child = values.field(i)
        if child.type != pa.struct([("S", pa.string())]):
            raise NotColumnar("attributes hold something other than text values")
        children.append(pa.field(values.type.field(i).name, pa.string()))
    texts = [values.field(i).field("S") for i in range(values.type.num_fields)]
    absent = pc.invert(pc.and_(image.is_valid(), values.is_valid()))
    return pa.StructArray.from_arrays(texts, fields=children, mask=absent)
