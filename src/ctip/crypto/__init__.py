"""Cryptocurrency flow tracing: transaction import, address clustering, attribution, tracing,
exposure scoring and FollowTheMoney export (see docs/crypto.md)."""
