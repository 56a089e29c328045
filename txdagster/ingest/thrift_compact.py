"""Thrift's compact protocol, read into a generic tree and written back byte for byte: what a Parquet
footer (``FileMetaData``) is made of, so that ``parquet_parts.py`` can join row groups encoded apart
into one file by shifting the offsets the footer holds.

A struct is a list of ``Field`` (its id, its compact type and its value, in the order they came); a list
or set is a ``Items`` (the elements' type and the values); a map a ``Pairs``. Integers are Python ints
(i8 as its byte), binary is ``bytes``, a double its 8 raw bytes, a boolean field's value is in its type
(1 true, 2 false) and ``None`` here. Reading and writing back gives the same bytes (tested on real
footers), so what is not changed stays as pyarrow wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)


@dataclass
class Field:
    id: int
    type: int
    value: Any


@dataclass
class Items:
    type: int
    values: list[Any]
    long_header: bool = False  # the size came after the header byte though it was below 15


@dataclass
class Pairs:
    key_type: int
    value_type: int
    pairs: list[tuple[Any, Any]]


class ThriftError(ValueError):
    """The bytes are not a compact-protocol struct this reader knows."""


class _Reader:
    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data).cast("B")  # a pyarrow buffer's view may be signed bytes
        self.at = 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise ThriftError("the struct ends before its stop byte")
        value = self.data[self.at]
        self.at += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ThriftError("a varint longer than 10 bytes")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def take(self, size: int) -> bytes:
        if size < 0 or self.at + size > len(self.data):
            raise ThriftError("a value runs past the end")
        value = bytes(self.data[self.at : self.at + size])
        self.at += size
        return value

    def value(self, kind: int, depth: int) -> Any:
        if depth > 64:
            raise ThriftError("nested deeper than 64 levels")
        if kind in (TRUE, FALSE):  # inside a container: a byte, 1 true
            return self.byte()
        if kind == BYTE:
            return self.byte()
        if kind in (I16, I32, I64):
            return self.zigzag()
        if kind == DOUBLE:
            return self.take(8)
        if kind == BINARY:
            return self.take(self.varint())
        if kind in (LIST, SET):
            header = self.byte()
            size, long_header = header >> 4, header >> 4 == 15
            if long_header:
                size = self.varint()
            element = header & 0x0F
            return Items(element, [self.value(element, depth + 1) for _ in range(size)], long_header and size < 15)
        if kind == MAP:
            size = self.varint()
            types = self.byte() if size else 0
            pairs = [(self.value(types >> 4, depth + 1), self.value(types & 0x0F, depth + 1)) for _ in range(size)]
            return Pairs(types >> 4, types & 0x0F, pairs)
        if kind == STRUCT:
            return self.struct(depth + 1)
        raise ThriftError(f"unknown compact type {kind}")

    def struct(self, depth: int = 0) -> list[Field]:
        fields: list[Field] = []
        last = 0
        while True:
            header = self.byte()
            if header == STOP:
                return fields
            kind, delta = header & 0x0F, header >> 4
            last = last + delta if delta else self.zigzag()
            fields.append(Field(last, kind, None if kind in (TRUE, FALSE) else self.value(kind, depth)))


def read_struct(data: bytes | memoryview) -> list[Field]:
    """The struct at the start of ``data`` (all of it must be that struct)."""
    reader = _Reader(data)
    fields = reader.struct()
    if reader.at != len(reader.data):
        raise ThriftError("bytes after the struct's stop byte")
    return fields


def _varint(n: int, out: bytearray) -> None:
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int, out: bytearray) -> None:
    _varint((n << 1) ^ (n >> 63), out)


def _write_value(kind: int, value: Any, out: bytearray) -> None:
    if kind in (TRUE, FALSE, BYTE):
        out.append(value)
    elif kind in (I16, I32, I64):
        _zigzag(value, out)
    elif kind == DOUBLE:
        out += value
    elif kind == BINARY:
        _varint(len(value), out)
        out += value
    elif kind in (LIST, SET):
        size = len(value.values)
        if size < 15 and not value.long_header:
            out.append(size << 4 | value.type)
        else:
            out.append(0xF0 | value.type)
            _varint(size, out)
        for item in value.values:
            _write_value(value.type, item, out)
    elif kind == MAP:
        _varint(len(value.pairs), out)
        if value.pairs:
            out.append(value.key_type << 4 | value.value_type)
        for key, item in value.pairs:
            _write_value(value.key_type, key, out)
            _write_value(value.value_type, item, out)
    elif kind == STRUCT:
        _write_struct(value, out)
    else:
        raise ThriftError(f"unknown compact type {kind}")


def _write_struct(fields: list[Field], out: bytearray) -> None:
    last = 0
    for f in fields:
        delta = f.id - last
        if 0 < delta <= 15:
            out.append(delta << 4 | f.type)
        else:
            out.append(f.type)
            _zigzag(f.id, out)
        last = f.id
        if f.type not in (TRUE, FALSE):
            _write_value(f.type, f.value, out)
    out.append(STOP)


def write_struct(fields: list[Field]) -> bytes:
    out = bytearray()
    _write_struct(fields, out)
    return bytes(out)


def field(fields: list[Field], id_: int) -> Field | None:
    """A struct's field by id, or None."""
    return next((f for f in fields if f.id == id_), None)
