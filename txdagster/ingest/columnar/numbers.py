"""Numbers given as text (a JSON string, a CSV cell, a DynamoDB Number) checked on their bytes for the
contract's text form, then cast."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from txdagster.contract.fields import AMOUNT_PRECISION, AMOUNT_SCALE, INTEGER_TEXT_DIGITS, Field
from txdagster.ingest.columnar.arrays import NotColumnar, string_values, text_pieces
from txdagster.ingest.native import NATIVE

_DIGITS = b"0123456789"


def check_number_text(column: pa.Array, point: bool) -> None:
    """The text form the row road takes for a number (``contract/dynamo.py``), checked on the bytes:
    digits with at most a leading minus, no leading zero before a digit, and with ``point`` digits on
    both sides of a point and at most the scale's after it. What is left to the cast that follows: one
    point at most, and the integer digits the type holds."""
    offsets, data = string_values(column)
    if len(offsets) < 2:
        return
    if any(text.translate(None, _DIGITS + (b".-" if point else b"-")) for text in text_pieces(column)):
        raise NotColumnar("a number holds a byte other than digits, a point or a minus")
    starts, ends = offsets[:-1], offsets[1:]
    if int((ends - starts).min()) < 1:
        raise NotColumnar("an empty number")
    negative = data[starts] == ord("-")
    digits = starts + negative  # where the integer digits start
    last = len(data) - 1
    if (
        int(np.count_nonzero(data == ord("-"))) != int(np.count_nonzero(negative))  # a minus not first
        or bool((digits >= ends).any())  # a minus alone
        or bool((data[np.minimum(digits, last)] == ord(".")).any())  # no digit before the point
        or bool((data[ends - 1] == ord(".")).any())  # no digit after it
    ):
        raise NotColumnar("a number not in the contract's text form")
    if point:  # a leading zero before another digit ("007"; integer text allows it, as its pattern does)
        second = data[np.minimum(digits + 1, last)]
        if bool(((data[np.minimum(digits, last)] == ord("0")) & (digits + 1 < ends) & (second != ord("."))).any()):
            raise NotColumnar("a number with a leading zero")
        found = np.asarray(pc.find_substring(column, "."))  # where the point is in each value, -1: none
        if int(np.where(found >= 0, ends - starts - found - 1, 0).max()) > AMOUNT_SCALE:
            raise NotColumnar("a number with more decimals than the scale")
    elif int((ends - digits).max()) > INTEGER_TEXT_DIGITS:
        raise NotColumnar("an integer with too many digits")


def cast_column(f: Field, column: pa.Array, to: pa.DataType) -> pa.Array:
    try:
        return pc.cast(column, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # a second point, too many digits...
        raise NotColumnar(f"{f.name}: {exc}") from exc


def decimals_from_text(column: pa.Array) -> pa.Array | None:
    """Amounts given as text, as DECIMAL(19,4), in one pass of C when every value present is in the
    contract's form (``DECIMAL_PATTERN``, which ``check_number_text`` and the cast enforce between them);
    else None, and those two say what is wrong."""
    if NATIVE is None or not pa.types.is_string(column.type):
        return None
    if column.offset and column.null_count:  # the validity bitmap at the values' offset
        column = pa.concat_arrays([column])
    validity, offsets, data = column.buffers()
    nulls = column.null_count
    digits = AMOUNT_PRECISION - AMOUNT_SCALE
    got = NATIVE.decimals(
        offsets, data or b"", column.offset, len(column), validity if nulls else b"", AMOUNT_SCALE, digits
    )
    if got is None:
        return None
    decimal = pa.decimal128(AMOUNT_PRECISION, AMOUNT_SCALE)
    return pa.Array.from_buffers(decimal, len(column), [validity if nulls else None, pa.py_buffer(got)], nulls)
