"""The case model: HTCDS v2.0 as data, CTIP's code lists and case fields, countries."""
