"""Times and durations are exact integer ns: the decimal text readers share."""
from decimal import Decimal

import pyarrow as pa
from hypothesis import given, strategies as st

from tracefold.readers.base import decimal_ns, decimal_text_ns, split_decimal


def exact(text: str, unit_exp: int):
    if text == "":
        return None, None
    frac = text.split(".", 1)[1] if "." in text else ""
    keep = min(len(frac), unit_exp)
    value = int(Decimal(text) * 10 ** unit_exp)      # digits finer than 1 ns are dropped
    return value, 10 ** (unit_exp - keep)


decimals = st.one_of(
    st.just(""),
    st.builds(lambda i, f, dot: f"{i}{'.' if dot or f else ''}{f}",
              st.integers(0, 9 * 10 ** 9).map(str), st.text("0123456789", max_size=12),
              st.booleans()))


@given(st.lists(decimals, min_size=1, max_size=20), st.sampled_from([0, 3, 6, 9]))
def test_decimal_text_is_exact(texts, unit_exp):
    texts = [t for t in texts if exact(t, unit_exp)[0] is None or exact(t, unit_exp)[0] < 2 ** 63]
    value, res = decimal_text_ns(pa.array(texts, pa.string()), unit_exp)
    assert [(v, r) for v, r in zip(value.to_pylist(), res.to_pylist())] == \
        [exact(t, unit_exp) for t in texts]


def test_large_seconds_beside_a_missing_time_keep_every_digit():
    # 2^53 ns is 104 days of uptime: beyond it a float64 step loses nanoseconds
    texts = pa.array(["9500000.123456789", "", "2500000582.572424819"])
    assert decimal_text_ns(texts, 9)[0].to_pylist() == [9500000123456789, None,
                                                        2500000582572424819]
    assert decimal_ns(*split_decimal(texts), 9)[0].to_pylist() == [9500000123456789, None,
                                                                   2500000582572424819]


def test_split_decimal_parts():
    a, b = split_decimal(pa.array(["12.345", "7", "", "1."]))
    assert a.to_pylist() == ["12", "7", "", "1"] and b.to_pylist() == ["345", "", "", ""]
