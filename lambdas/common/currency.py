"""ISO 4217 minor-unit exponents: how many decimals a currency's minor unit has."""

from __future__ import annotations

_EXPONENTS = {
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
}


def minor_unit_exponent(currency: str) -> int:
    """Decimals of the minor unit; 2 for every currency not listed as 0 or 3."""
    return _EXPONENTS.get(currency.upper(), 2)
