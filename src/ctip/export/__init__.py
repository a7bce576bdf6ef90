"""Exports of workspace data in CTIP and standard layouts."""
